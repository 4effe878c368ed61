"""A ward round's events (``graphs.events``) as Server-Sent Events.

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

Each is the wire form of one ``graphs.events`` event (``sse_event``); the round itself runs in
``server.rounds``, which puts its events on a queue.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from agents.outlook import OUTLOOK_FRAMES, OutlookItem
from core.errors import WardroundError
from graphs.events import (
    Answered,
    ApprovalRequired,
    CardsReady,
    Failed,
    FindingReported,
    OutlookReady,
    RoundEvent,
    Status,
    Token,
)
from graphs.result import WardRoundResult
from server.problems import error_problem, problem
from server.rounds import RoundEvents

PING_EVERY_S = 15.0


@dataclass(frozen=True)
class SseEvent:
    event: str
    data: dict[str, Any]

    def encode(self) -> bytes:
        payload = json.dumps(self.data, ensure_ascii=False, separators=(",", ":"), default=str)
        return f"event: {self.event}\ndata: {payload}\n\n".encode()


def sse_event(event: RoundEvent) -> SseEvent:
    """The wire form of one round event."""
    data: dict[str, Any]
    match event:
        case Status(step, phase):
            name, data = "status", {"node": step, "phase": phase}
        case FindingReported(_, finding):
            name, data = "finding", finding.model_dump(mode="json")
        case CardsReady(cards):
            name, data = "cards", {"cards": [c.model_dump(mode="json") for c in cards]}
        case Token(text, restart):
            name, data = "token", {"text": text, "restart": True} if restart else {"text": text}
        case ApprovalRequired(pending_id, request):
            name, data = "approval_required", {"id": pending_id, **request}
        case OutlookReady(items, language):
            name, data = "outlook", outlook_data(items, language)
        case Answered(result):
            return answer_event(result)
        case Failed(error):
            name, data = "error", failure_problem(error)
    return SseEvent(name, data)


def outlook_data(items: list[OutlookItem], language: str) -> dict[str, Any]:
    """The Outlook's items and its heading in the answer's language (agents.outlook frames)."""
    words = OUTLOOK_FRAMES.get(language, OUTLOOK_FRAMES["en"])
    return {
        "heading": words["heading"],
        "labels": {"action": words["action"], "not_applied": words["not_applied"]},
        "outlook": [i.model_dump(mode="json") for i in items],
    }


def failure_problem(error: BaseException) -> dict[str, Any]:
    """An RFC 9457 problem for a run that failed (a crash says no more than that)."""
    if isinstance(error, WardroundError):
        return error_problem(error)
    return problem(500, "Internal error", "round failed")


def answer_event(result: WardRoundResult) -> SseEvent:
    return SseEvent(
        "answer",
        {
            "answer": result.answer,
            "claims": [c.model_dump(mode="json") for c in result.claims],
            "result": result.model_dump(mode="json"),
        },
    )


async def drain(
    queue: RoundEvents, ping_every_s: float = PING_EVERY_S
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


async def sse_bytes(queue: RoundEvents, thread_id: str) -> AsyncIterator[bytes]:
    run_id = ""
    async for event in drain(queue):
        if event is None:
            yield b": ping\n\n"
            continue
        if isinstance(event, Answered):
            run_id = event.result.run_id
        yield sse_event(event).encode()
    yield SseEvent("done", {"run_id": run_id, "thread_id": thread_id}).encode()
