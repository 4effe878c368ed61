"""A ward round as a stream of events, and their Server-Sent Events encoding.

Events (``event:`` name, ``data:`` one JSON object):

- ``status`` ``{node, phase: started|finished}`` as the graph moves (specialists run in parallel);
- ``finding`` one per finding, as each specialist finishes;
- ``cards`` ``{cards: [...]}`` once the synthesizer has grouped the findings into problem cards,
  in reading order (Act now, Review, For information; ``agents.cards``);
- ``token`` ``{text}``: the next piece of the synthesizer's answer as the model writes it
  (``{text: "", restart: true}`` when a repair starts it over: drop what came before). The pieces
  are a preview: ``answer`` holds the answer of record, with the rule findings appended;
- ``approval_required`` when the round pauses for a clinician to approve a proposed action;
- ``answer`` the answer, its claims and the full versioned result;
- ``error`` an RFC 9457 problem; ``done`` ``{run_id, thread_id}`` always last.

The round runs in its own task and feeds a queue: a client that disconnects does not cut a round
short (durability is ``sync``: the turn is recorded either way).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.types import Command

from agents.approvals import ApprovalResume, pending_proposals, validate_resume, ward_of
from core.errors import WardroundError
from core.logging import get_logger
from graphs.events import findings_in
from graphs.result import WardRoundResult
from graphs.run import TOKEN, finish_decision, run_turn
from server.problems import error_problem, problem
from server.wiring import Runtime

log = get_logger(__name__)
PING_EVERY_S = 15.0


class ApprovalPending(WardroundError):
    """A new question would abandon the proposals the paused round waits on."""

    http_status = 409
    title = "Approval pending"


@dataclass(frozen=True)
class RoundEvent:
    event: str
    data: dict[str, Any]

    def encode(self) -> bytes:
        payload = json.dumps(self.data, ensure_ascii=False, separators=(",", ":"), default=str)
        return f"event: {self.event}\ndata: {payload}\n\n".encode()


Emit = Callable[[RoundEvent], None]


def _status(node: str, phase: str) -> RoundEvent:
    return RoundEvent("status", {"node": node, "phase": phase})


class _Progress:
    """Turns LangGraph ``updates`` into status/finding events (what started, what finished)."""

    def __init__(self, emit: Emit) -> None:
        self.emit = emit
        self.pending: set[str] = set()

    def on_update(self, node: str, value: Any) -> None:
        self.emit(_status(node, "finished"))
        update = value if isinstance(value, dict) else {}
        for finding in findings_in(update):
            self.emit(RoundEvent("finding", finding))
        if update.get("cards"):
            self.emit(RoundEvent("cards", {"cards": update["cards"]}))
        if node == "load_record":
            self.emit(_status("route", "started"))
        elif node == "route":
            self.pending = set(update.get("specialists") or [])
            for name in sorted(self.pending):
                self.emit(_status(name, "started"))
        elif node in self.pending:
            self.pending.discard(node)
            if not self.pending:
                self.emit(_status("synthesize", "started"))

    def dispatch(self, node: str, value: Any) -> None:
        """``graphs.run.run_turn``'s ``on_update`` hook."""
        if node == TOKEN:
            self.emit(RoundEvent("token", value))
        elif node == "__interrupt__":
            self.on_interrupt(value)
        elif not node.startswith("__"):
            self.on_update(node, value)

    def on_interrupt(self, interrupts: Any) -> None:
        """The graph paused for a clinician's approval (``interrupt()``): say what waits."""
        for pending in interrupts or ():
            value = getattr(pending, "value", pending)
            self.emit(
                RoundEvent(
                    "approval_required",
                    {
                        "id": getattr(pending, "id", ""),
                        **(value if isinstance(value, dict) else {"value": value}),
                    },
                )
            )


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

    def graph_input(self) -> Any:
        if self.resume is not None:
            return Command(resume=self.resume)
        started = {"patient_id": self.patient_id, "question": self.question}
        return {**started, "turns": list(self.earlier)} if self.earlier else started

    def audit_request(self) -> dict[str, Any]:
        if self.resume is not None:
            return {"decisions": self.resume.get("decisions", [])}
        return {"question": self.question}


async def run_round(runtime: Runtime, turn: Turn, emit: Emit | None = None) -> WardRoundResult:
    """One run on ``turn.thread_id``, audited, reporting progress through ``emit``.

    Call it holding the thread (``ThreadStore.writer``): the paused-or-not check below must not
    race another run.
    """
    progress = _Progress(emit or (lambda _event: None))
    config = RunnableConfig(configurable={"thread_id": turn.thread_id})
    await finish_decision(
        runtime.graph, thread_id=turn.thread_id, model=runtime.model_info, audit=runtime.audit
    )
    snapshot = await runtime.graph.aget_state(config)
    pending = pending_proposals(snapshot)
    if turn.resume is not None:
        resume = ApprovalResume.model_validate(turn.resume)
        validate_resume(resume, ward=ward_of(snapshot.values or {}), pending=pending)
    elif pending:
        raise ApprovalPending(
            f"thread {turn.thread_id} waits for a decision: "
            f"POST /v1/threads/{turn.thread_id}/approvals/<proposal id>"
        )
    progress.emit(_status("approve" if turn.resume is not None else "load_record", "started"))
    return await run_turn(
        runtime.graph,
        turn.graph_input(),
        patient_id=turn.patient_id,
        thread_id=turn.thread_id,
        model=runtime.model_info,
        audit=runtime.audit,
        principal_id=turn.principal_id,
        request=turn.audit_request(),
        on_update=progress.dispatch,
    )


def answer_event(result: WardRoundResult) -> RoundEvent:
    return RoundEvent(
        "answer",
        {
            "answer": result.answer,
            "claims": [c.model_dump(mode="json") for c in result.claims],
            "result": result.model_dump(mode="json"),
        },
    )


def start_round_events(
    runtime: Runtime,
    writer: AbstractAsyncContextManager[Any],
    keep: Callable[[asyncio.Task[Any]], None],
    turn: Turn,
) -> asyncio.Queue[RoundEvent | None]:
    """Start the round in a task; its events arrive on the returned queue, ``None`` last."""
    queue: asyncio.Queue[RoundEvent | None] = asyncio.Queue()

    async def produce() -> None:
        run_id = ""
        try:
            async with writer:
                result = await run_round(runtime, turn, queue.put_nowait)
            run_id = result.run_id
            queue.put_nowait(answer_event(result))
        except WardroundError as error:
            queue.put_nowait(RoundEvent("error", error_problem(error)))
        except Exception as crash:  # the stream must end with a problem, never hang
            log.error("ward_round.crashed", error=type(crash).__name__)
            queue.put_nowait(RoundEvent("error", problem(500, "Internal error", "round failed")))
        finally:
            queue.put_nowait(RoundEvent("done", {"run_id": run_id, "thread_id": turn.thread_id}))
            queue.put_nowait(None)

    keep(asyncio.create_task(produce()))
    return queue


async def drain(
    queue: asyncio.Queue[RoundEvent | None], ping_every_s: float = PING_EVERY_S
) -> AsyncIterator[RoundEvent | None]:
    """Yield events until the end; ``None`` in between means "quiet for a while" (send a ping)."""
    while True:
        try:
            event = await asyncio.wait_for(queue.get(), ping_every_s)
        except TimeoutError:
            yield None
            continue
        if event is None:
            return
        yield event


async def sse_bytes(queue: asyncio.Queue[RoundEvent | None]) -> AsyncIterator[bytes]:
    async for event in drain(queue):
        yield b": ping\n\n" if event is None else event.encode()
