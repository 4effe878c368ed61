"""Run one ward round on a thread and return the versioned result."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.types import Command, StateSnapshot, StreamMode
from structlog.contextvars import bound_contextvars

from agents.approvals import (
    ApprovalResume,
    DecisionNotRecorded,
    RecordedDecision,
    pending_proposals,
    validate_resume,
    ward_of,
)
from core.audit import RUN_FAILED, AuditStore, EventKind, Recorder
from core.logging import get_logger, pseudonym
from core.model.types import metered
from graphs.approval import RECORD_DECISION
from graphs.audit import recording
from graphs.checkpoint import prune_thread
from graphs.events import Answered, Failed, OnEvent, OutlookReady, RoundEvent, events_of
from graphs.result import ModelInfo, WardRoundResult, result_from_state
from graphs.state import WardRoundGraph

log = get_logger(__name__)
STREAMED: list[StreamMode] = ["tasks", "updates", "custom"]
"""Task starts, each step's update and the synthesizer's custom stream: ``graphs.events``."""


async def ask(
    graph: WardRoundGraph,
    *,
    patient_id: str,
    question: str,
    thread_id: str | None = None,
    model: ModelInfo | None = None,
    audit: AuditStore | None = None,
    principal_id: str | None = None,
    on_event: OnEvent | None = None,
) -> WardRoundResult:
    """Ask ``question`` about ``patient_id`` on ``thread_id`` (a new thread when None).

    With an ``audit`` store, the run is recorded: the request, every node, model call, finding
    and citation verdict, and the answer, bound to run, thread, patient and principal ids.
    ``on_event`` hears how it goes, as in :func:`run_turn`.
    """
    if thread_id is not None:
        await finish_decision(graph, thread_id=thread_id, model=model, audit=audit)
    thread_id = thread_id or f"thread-{uuid.uuid4().hex[:12]}"
    graph_input = {"patient_id": patient_id, "question": question}
    return await run_turn(
        graph,
        graph_input,
        patient_id=patient_id,
        thread_id=thread_id,
        model=model,
        audit=audit,
        principal_id=principal_id,
        request={"question": question},
        on_event=on_event,
    )


async def resume(
    graph: WardRoundGraph,
    *,
    thread_id: str,
    decision: ApprovalResume,
    model: ModelInfo | None = None,
    audit: AuditStore | None = None,
    on_event: OnEvent | None = None,
) -> WardRoundResult:
    """Resume a thread paused for approval with a clinician's decisions (``on_event`` as in
    :func:`run_turn`)."""
    await finish_decision(graph, thread_id=thread_id, model=model, audit=audit)
    config = RunnableConfig(configurable={"thread_id": thread_id})
    snapshot = await graph.aget_state(config)
    values = snapshot.values or {}
    validate_resume(decision, ward=ward_of(values), pending=pending_proposals(snapshot))
    payload = {"decisions": [d.model_dump() for d in decision.decisions]}
    return await run_turn(
        graph,
        Command(resume=decision.model_dump()),
        patient_id=values["patient_id"],
        thread_id=thread_id,
        model=model,
        audit=audit,
        principal_id=decision.approver.id,
        request=payload,
        on_event=on_event,
    )


def decision_unfinished(snapshot: StateSnapshot) -> bool:
    """A decision was taken and its recording did not finish (``finish_decision`` finishes it)."""
    return RECORD_DECISION in snapshot.next


async def finish_decision(
    graph: WardRoundGraph,
    *,
    thread_id: str,
    model: ModelInfo | None = None,
    audit: AuditStore | None = None,
) -> WardRoundResult | None:
    """Finish recording a decision that a crash (or a failure after the outbox write) left
    unfinished, as its own audited run; None when there is none. The outbox recognises the
    decision ids it already holds, so the decision is written exactly once. Call it before any
    new turn on the thread (holding it): a new question would otherwise drop the step."""
    config = RunnableConfig(configurable={"thread_id": thread_id})
    snapshot = await graph.aget_state(config)
    if not decision_unfinished(snapshot):
        return None
    decided: list[RecordedDecision] = snapshot.values.get("decided") or []
    log.info("approval.finishing", thread_id=thread_id, decisions=len(decided))
    return await run_turn(
        graph,
        None,
        patient_id=snapshot.values["patient_id"],
        thread_id=thread_id,
        model=model,
        audit=audit,
        principal_id=decided[0].approver if decided else None,
        request={"finishes": [d.decision_id for d in decided]},
    )


async def run_turn(
    graph: WardRoundGraph,
    graph_input: Any,
    *,
    patient_id: str,
    thread_id: str,
    model: ModelInfo | None,
    audit: AuditStore | None,
    principal_id: str | None,
    request: dict[str, Any],
    on_event: OnEvent | None = None,
) -> WardRoundResult:
    """One audited, metered run of ``graph_input`` (a new question or a ``Command(resume=...)``).

    ``on_event`` hears the run as it goes (``graphs.events``: steps started and finished,
    findings, the cards, the answer as it is written, a pause for approval) and how it ended:
    ``Answered`` with the result, or ``Failed`` before the exception is raised. The SSE routes,
    the OpenAI facade and the CLI read nothing else.

    Every log line of the run (``model.call``, ``model.retry``, ...) carries its ``run_id``,
    ``thread_id`` and ``patient_key`` (a pseudonym, never the patient id): structlog's context
    variables, bound for the length of the run, follow it into the graph's tasks and threads.
    """
    run_id = f"run-{uuid.uuid4().hex[:12]}"
    key = pseudonym(patient_id)
    with bound_contextvars(run_id=run_id, thread_id=thread_id, patient_key=key):
        return await _run_turn(
            graph,
            graph_input,
            run_id=run_id,
            patient_id=patient_id,
            thread_id=thread_id,
            model=model,
            audit=audit,
            principal_id=principal_id,
            request=request,
            on_event=on_event,
        )


async def _run_turn(
    graph: WardRoundGraph,
    graph_input: Any,
    *,
    run_id: str,
    patient_id: str,
    thread_id: str,
    model: ModelInfo | None,
    audit: AuditStore | None,
    principal_id: str | None,
    request: dict[str, Any],
    on_event: OnEvent | None,
) -> WardRoundResult:
    config = RunnableConfig(configurable={"thread_id": thread_id, "run_id": run_id})
    started = time.monotonic()
    tell = on_event or _nobody
    log.info("ward_round.started")
    recorder = None
    if audit is not None:
        recorder = audit.recorder(
            run_id=run_id, thread_id=thread_id, patient_id=patient_id, principal_id=principal_id
        )
        await recorder.emit(EventKind.REQUEST_RECEIVED, request)
    try:
        with metered() as usage, recording(recorder):
            async for mode, chunk in graph.astream(
                graph_input, config, stream_mode=STREAMED, durability="sync"
            ):
                for event in events_of(mode, chunk):
                    tell(event)
            snapshot = await graph.aget_state(config)
            _raise_if_not_recorded(snapshot.values, run_id)
    except BaseException as exc:  # cancelled (client gone) included: the trail says how it ended
        if recorder is not None:
            await asyncio.shield(_audit_failure(recorder, exc))
        log.warning("ward_round.failed", error=type(exc).__name__)
        tell(Failed(exc))
        raise
    await _prune(graph, thread_id)
    state = dict(snapshot.values)
    total_ms = round((time.monotonic() - started) * 1000, 1)
    result = result_from_state(
        state,
        pending_approval=bool(snapshot.interrupts),
        run_id=run_id,
        thread_id=thread_id,
        timings={**(state.get("timings") or {}), "total": total_ms},
        tokens=usage.as_dict(),
        model=model or ModelInfo(base_url=None, name=None),
    )
    if recorder is not None:
        await _audit_answer(recorder, result)
    log.info("ward_round.finished", degraded=result.degraded, total_ms=total_ms)
    if result.outlook:
        tell(OutlookReady(result.outlook, result.language))
    tell(Answered(result))
    return result


def _raise_if_not_recorded(values: dict[str, Any], run_id: str) -> None:
    """This run's decision was not recorded: the round went back to a fresh pause (nothing was
    written, nothing of the decision remains); the caller hears why."""
    failure = values.get("approval_failure")
    if failure and failure.get("run_id") == run_id:
        raise DecisionNotRecorded(
            "the decision was not recorded and nothing was written; the proposals wait for a "
            f"decision again ({failure['message']})",
            http_status=int(failure["http_status"]),
            title=str(failure["title"]),
        )


async def _prune(graph: WardRoundGraph, thread_id: str) -> None:
    """The turn finished: keep only the checkpoints the thread needs to go on (a prune that
    fails costs disk, never the answer)."""
    try:
        await prune_thread(graph.checkpointer, thread_id)
    except Exception as err:  # logged; the next turn prunes again
        log.warning("checkpoint.prune_failed", thread_id=thread_id, error=type(err).__name__)


def _nobody(_event: RoundEvent) -> None:
    return None


async def _audit_failure(recorder: Recorder, exc: BaseException) -> None:
    """A run that ends without an answer ends with this ``error`` event (``where: run``): the
    auditor sees how it ended instead of a run that seems to be still going."""
    await recorder.emit(
        EventKind.ERROR,
        {
            "where": RUN_FAILED,
            "error": {"type": type(exc).__name__, "message": str(exc)[:500]},
        },
    )


async def _audit_answer(recorder: Recorder, result: WardRoundResult) -> None:
    if result.degraded:
        await recorder.emit(EventKind.DEGRADED, {"reasons": result.degraded_reasons})
    citations = [c.model_dump(mode="json") for f in result.findings for c in f.citations]
    await recorder.emit(
        EventKind.REQUEST_ANSWERED,
        {
            "answer": result.answer,
            "degraded": result.degraded,
            "pending_approval": result.pending_approval,
            "citations": citations,
        },
    )
