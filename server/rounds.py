"""The server's round runner: one run on a thread, its approval pre-checks, its events on a queue.

The JSON routes await ``run_round``; the streaming routes (SSE, the OpenAI facade) start it with
``start_round_events`` and read the ward round's typed events (``graphs.events``) from a queue,
each in its own wire format (``server.sse``, ``server.routes.openai_compat``). The round runs in
its own task: a client that disconnects does not cut a round short (durability is ``sync``: the
turn is recorded either way).

Before any run, holding the thread, ``run_round`` finishes a decision a crash left half-recorded
(``graphs.run.finish_decision``) and checks the turn against what the thread waits on: a resume
goes through ``agents.approvals.validate_resume``; a new question on a paused thread is answered
(the round runs; the proposals it waits on stay pending and are listed again:
``agents.approval_memory``), or, when the client asks for strict behaviour (``Turn.strict``:
``X-Wardround-Strict: true``), refused (``ApprovalPending``). The routes ask the same before a
stream starts (``thread_snapshot``, ``refuse_if_paused``), so a refusal is a plain HTTP error,
not an event.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.types import Command, StateSnapshot

from agents.approvals import ApprovalResume, pending_proposals, validate_resume, ward_of
from core.errors import WardroundError
from core.logging import get_logger
from graphs.events import Answered, Failed, OnEvent, RoundEvent
from graphs.result import WardRoundResult
from graphs.run import decision_unfinished, finish_decision, run_turn
from server.deps import ServerState
from server.wiring import Runtime

log = get_logger(__name__)
RoundEvents = asyncio.Queue[RoundEvent | None]
"""A run's events, ``Answered`` or ``Failed`` last, then ``None``."""


class ApprovalPending(WardroundError):
    """A new question would abandon the proposals the paused round waits on."""

    http_status = 409
    title = "Approval pending"


@dataclass(frozen=True)
class Turn:
    """What one run does on its thread: answer a question, or resume with a clinician's decision."""

    patient_id: str
    thread_id: str
    principal_id: str | None = None
    question: str = ""
    resume: dict[str, Any] | None = None
    """A dumped ``agents.approvals.ApprovalResume``: the run continues the paused round."""
    earlier: tuple[dict[str, str], ...] = ()
    """Turns the caller held outside the thread (the OpenAI facade's message history), given to
    a new thread so its first question is read in context."""
    strict: bool = False
    """Refuse a question while the thread waits for a decision (409) instead of answering it."""

    def graph_input(self) -> Any:
        if self.resume is not None:
            return Command(resume=self.resume)
        started = {"patient_id": self.patient_id, "question": self.question}
        return {**started, "turns": list(self.earlier)} if self.earlier else started

    def audit_request(self) -> dict[str, Any]:
        if self.resume is not None:
            return {"decisions": self.resume.get("decisions", [])}
        return {"question": self.question}


async def run_round(
    runtime: Runtime, turn: Turn, on_event: OnEvent | None = None
) -> WardRoundResult:
    """One run on ``turn.thread_id``, audited, telling ``on_event`` how it goes.

    Call it holding the thread (``ThreadStore.writer``): the pre-checks below must not race
    another run.
    """
    config = RunnableConfig(configurable={"thread_id": turn.thread_id})
    await finish_decision(
        runtime.graph, thread_id=turn.thread_id, model=runtime.model_info, audit=runtime.audit
    )
    snapshot = await runtime.graph.aget_state(config)
    pending = pending_proposals(snapshot)
    if turn.resume is not None:
        resume = ApprovalResume.model_validate(turn.resume)
        validate_resume(resume, ward=ward_of(snapshot.values or {}), pending=pending)
    elif pending and turn.strict:
        raise ApprovalPending(
            f"thread {turn.thread_id} waits for a decision (strict): "
            f"POST /v1/threads/{turn.thread_id}/approvals"
        )
    return await run_turn(
        runtime.graph,
        turn.graph_input(),
        patient_id=turn.patient_id,
        thread_id=turn.thread_id,
        model=runtime.model_info,
        audit=runtime.audit,
        principal_id=turn.principal_id,
        request=turn.audit_request(),
        on_event=on_event,
    )


def start_round_events(
    runtime: Runtime,
    writer: AbstractAsyncContextManager[Any],
    keep: Callable[[asyncio.Task[Any]], None],
    turn: Turn,
) -> RoundEvents:
    """Start the round in a task; its events arrive on the returned queue, ``None`` last."""
    queue: RoundEvents = asyncio.Queue()
    ended: list[RoundEvent] = []

    def tell(event: RoundEvent) -> None:
        if isinstance(event, Answered | Failed):
            ended.append(event)
        queue.put_nowait(event)

    async def produce() -> None:
        try:
            async with writer:
                await run_round(runtime, turn, tell)
        except Exception as error:  # the stream must end with an error, never hang
            if not isinstance(error, WardroundError):
                log.error("ward_round.crashed", error=type(error).__name__)
            if not ended:  # refused before the run began (a pending approval, the lock)
                tell(Failed(error))
        finally:
            queue.put_nowait(None)

    keep(asyncio.create_task(produce()))
    return queue


async def thread_snapshot(state: ServerState, thread_id: str) -> StateSnapshot:
    """The thread's round state, after finishing a decision that a crash left half-recorded
    (holding the thread, as a turn would): what it waits on is then ``pending_proposals``."""
    runtime = state.require_runtime()
    config = RunnableConfig(configurable={"thread_id": thread_id})
    snapshot = await runtime.graph.aget_state(config)
    if not decision_unfinished(snapshot):
        return snapshot
    async with state.threads.writer(thread_id):
        try:
            await finish_decision(
                runtime.graph, thread_id=thread_id, model=runtime.model_info, audit=runtime.audit
            )
        except WardroundError as error:  # still unfinished (or undone): the next touch retries
            log.warning("approval.not_finished", error=type(error).__name__)
    return await runtime.graph.aget_state(config)


async def refuse_if_paused(state: ServerState, thread_id: str, *, strict: bool) -> None:
    """A strict client's question on a paused thread: refused before a stream starts (a clear
    409); ``run_round`` checks again holding the thread. Otherwise the question is answered
    and the proposals keep waiting (a decision a crash left half-recorded is finished first)."""
    snapshot = await thread_snapshot(state, thread_id)
    if strict and pending_proposals(snapshot):
        raise ApprovalPending(
            f"thread {thread_id} waits for a decision (strict): "
            f"POST /v1/threads/{thread_id}/approvals"
        )


STRICT_HEADER = "X-Wardround-Strict"
"""``true``: a question on a paused thread is refused (409) instead of answered."""


def is_strict(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes"}
