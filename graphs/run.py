"""Run one ward round on a thread and return the versioned result."""

from __future__ import annotations

import time
import uuid
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph

from core.logging import get_logger
from core.model.types import metered
from graphs.result import ModelInfo, WardRoundResult, result_from_state

log = get_logger(__name__)


async def ask(
    graph: CompiledStateGraph[Any, Any, Any, Any],
    *,
    patient_id: str,
    question: str,
    thread_id: str | None = None,
    model: ModelInfo | None = None,
) -> WardRoundResult:
    """Ask ``question`` about ``patient_id`` on ``thread_id`` (a new thread when None)."""
    thread_id = thread_id or f"thread-{uuid.uuid4().hex[:12]}"
    run_id = f"run-{uuid.uuid4().hex[:12]}"
    config = RunnableConfig(configurable={"thread_id": thread_id, "run_id": run_id})
    started = time.monotonic()
    log.info("ward_round.started", run_id=run_id, thread_id=thread_id, patient_id=patient_id)
    with metered() as usage:
        state = await graph.ainvoke(
            {"patient_id": patient_id, "question": question}, config, durability="sync"
        )
    total_ms = round((time.monotonic() - started) * 1000, 1)
    result = result_from_state(
        state,
        run_id=run_id,
        thread_id=thread_id,
        timings={**(state.get("timings") or {}), "total": total_ms},
        tokens=usage.as_dict(),
        model=model or ModelInfo(base_url=None, name=None),
    )
    log.info("ward_round.finished", run_id=run_id, degraded=result.degraded, total_ms=total_ms)
    return result
