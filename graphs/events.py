"""What a running ward round tells its callers: a small typed event union.

``graphs.run.run_turn`` reports a run through ``on_event`` as it goes: which steps start and
finish (``Status``), each finding as the step that made it finishes (``FindingReported``), the
findings grouped into problem cards (``CardsReady``), the answer as the synthesizer writes it
(``Token``), that the round paused for a clinician (``ApprovalRequired``), where the patient
is heading once the result is built (``OutlookReady``, just before the end, when there is
an Outlook) and how it ended (``Answered`` or ``Failed``, always last). The SSE routes
(``server.sse``), the OpenAI facade and the CLI only read these: none of them knows the graph's
node names or order.

The step names are whatever the graph's nodes are called; starts come from LangGraph's ``tasks``
stream and finishes from its ``updates`` stream, so a rewired graph reports its own steps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from agents.cards import Card
from agents.outlook import OutlookItem
from agents.synthesizer import ANSWER_DELTA, ANSWER_RESTART
from core.domain import Finding
from graphs.result import WardRoundResult


@dataclass(frozen=True)
class Status:
    """A step of the round started or finished (specialists run in parallel)."""

    step: str
    phase: Literal["started", "finished"]


@dataclass(frozen=True)
class FindingReported:
    """One finding, as the step that made it finishes."""

    step: str
    finding: Finding


@dataclass(frozen=True)
class CardsReady:
    """The findings as problem cards by tier, in reading order (``agents.cards``), once the
    step that groups them finishes."""

    cards: list[Card]


@dataclass(frozen=True)
class Token:
    """The next piece of the answer as the synthesizer writes it; ``restart``: a repair starts
    the answer over, so drop what came before. A preview: ``Answered`` holds the answer of
    record (with the rule findings appended)."""

    text: str
    restart: bool = False


@dataclass(frozen=True)
class ApprovalRequired:
    """The round paused for a clinician's decision on what it proposes (``interrupt()``)."""

    id: str
    request: dict[str, Any]
    """What waits: the proposals and the patient's ward."""


@dataclass(frozen=True)
class OutlookReady:
    """The Outlook (``agents.outlook``: validated prognoses and labelled trajectories, built after
    the round from the record and the findings), with its heading in the answer's language."""

    items: list[OutlookItem]
    language: str = "en"


@dataclass(frozen=True)
class Answered:
    """The run ended with its versioned result."""

    result: WardRoundResult


@dataclass(frozen=True)
class Failed:
    """The run ended without an answer (it raised; the exception is raised to the caller too)."""

    error: BaseException


RoundEvent = (
    Status
    | FindingReported
    | CardsReady
    | Token
    | ApprovalRequired
    | OutlookReady
    | Answered
    | Failed
)
OnEvent = Callable[[RoundEvent], None]


def events_of(mode: str, chunk: Any) -> Iterator[RoundEvent]:
    """The events in one part of the graph's stream (``stream_mode=["tasks", "updates",
    "custom"]``)."""
    if mode == "tasks":
        if "input" in chunk and not str(chunk["name"]).startswith("__"):
            yield Status(chunk["name"], "started")  # a task's start (its end carries "result")
    elif mode == "updates":
        for step, update in chunk.items():
            if step == "__interrupt__":
                yield from approvals_required(update)
            elif not step.startswith("__"):
                for finding in findings_in(update):
                    yield FindingReported(step, Finding.model_validate(finding))
                if isinstance(update, dict) and update.get("cards"):
                    # a step's writes replayed from an older checkpoint hold dicts
                    yield CardsReady([Card.model_validate(c) for c in update["cards"]])
                yield Status(step, "finished")
    elif mode == "custom" and isinstance(chunk, dict):
        if chunk.get("kind") == ANSWER_DELTA:
            yield Token(str(chunk["text"]))
        elif chunk.get("kind") == ANSWER_RESTART:
            yield Token("", restart=True)


def findings_in(update: Any) -> list[dict[str, Any]]:
    """The findings a step wrote (not ``START_AFRESH``, which ``load_record`` writes)."""
    findings = update.get("findings") if isinstance(update, dict) else None
    return findings if isinstance(findings, list) else []


def approvals_required(interrupts: Any) -> Iterator[ApprovalRequired]:
    for pending in interrupts or ():
        value = getattr(pending, "value", pending)
        request = value if isinstance(value, dict) else {"value": value}
        yield ApprovalRequired(str(getattr(pending, "id", "")), request)
