"""Run one ward round on a thread and return the versioned result."""

from __future__ import annotations

import time
import uuid
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph

from core.audit import AuditStore, EventKind
from core.logging import get_logger, pseudonym
from core.model.types import metered
from graphs.audit import recording
from graphs.result import ModelInfo, WardRoundResult, result_from_state

log = get_logger(__name__)


async def ask(
    graph: CompiledStateGraph[Any, Any, Any, Any],
    *,
    patient_id: str,
    question: str,
    thread_id: str | None = None,
    model: ModelInfo | None = None,
    audit: AuditStore | None = None,
    principal_id: str | None = None,
) -> WardRoundResult:
    """Ask ``question`` about ``patient_id`` on ``thread_id`` (a new thread when None).

    With an ``audit`` store, the run is recorded: the request, every node, model call, finding
    and citation verdict, and the answer, bound to run, thread, patient and principal ids.
    """
    thread_id = thread_id or f"thread-{uuid.uuid4().hex[:12]}"
    run_id = f"run-{uuid.uuid4().hex[:12]}"
    config = RunnableConfig(configurable={"thread_id": thread_id, "run_id": run_id})
    started = time.monotonic()
    log.info(
        "ward_round.started", run_id=run_id, thread_id=thread_id, patient=pseudonym(patient_id)
    )
    recorder = None
    if audit is not None:
        recorder = audit.recorder(
            run_id=run_id, thread_id=thread_id, patient_id=patient_id, principal_id=principal_id
        )
        await recorder.emit(EventKind.REQUEST_RECEIVED, {"question": question})
    with metered() as usage, recording(recorder):
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
    if recorder is not None:
        if result.degraded:
            await recorder.emit(EventKind.DEGRADED, {"reasons": result.degraded_reasons})
        await recorder.emit(
            EventKind.REQUEST_ANSWERED,
            {
                "answer": result.answer,
                "degraded": result.degraded,
                "citations": [
                    c.model_dump(mode="json") for f in result.findings for c in f.citations
                ],
            },
        )
    log.info("ward_round.finished", run_id=run_id, degraded=result.degraded, total_ms=total_ms)
    return result
