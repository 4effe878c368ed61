"""Ward-round graph state: a narrow input schema beside the full state, reducers on the fields.

Values are JSON-plain (dicts of dumped pydantic models) so checkpoints and the audit store hold
readable data and restore in any process without type registration. ``agents`` turn them back
into domain models at the edges.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal, NotRequired

# typing's TypedDict gives pydantic (and so LangGraph Studio's input schema) nothing on 3.11
from typing_extensions import TypedDict

from agents.common import SpecialistTask

StartAfresh = Literal["start afresh"]
START_AFRESH: StartAfresh = "start afresh"
"""What ``load_record`` writes to each per-question field: a new question starts from nothing.
(A plain string, so checkpoints stay JSON-plain.)"""


def per_question(left: list[Any] | None, right: list[Any] | StartAfresh | None) -> list[Any]:
    """Accumulate within one question; ``START_AFRESH`` (written by ``load_record``) empties.

    A thread carries many questions; findings of the previous one must not leak into the next.
    """
    if right is None or right == START_AFRESH:  # None: the marker of checkpoints before this one
        return []
    return [*(left or []), *right]


def merge_timings(
    left: dict[str, float] | None, right: dict[str, float] | None
) -> dict[str, float]:
    if right is None:
        return {}
    return {**(left or {}), **right}


class WardRoundInput(TypedDict):
    """What a caller supplies to start a round."""

    patient_id: str
    """Patient id in the configured source, or a path to a FHIR bundle file."""
    question: str
    """The ward team's question, in English or Traditional Chinese."""
    turns: NotRequired[list[dict[str, Any]]]
    """Earlier turns held outside the thread (``{question, answer}``): an OpenAI-style client
    that sends its conversation opens a new thread with them, so a follow-up keeps its context."""


class WardRoundState(TypedDict, total=False):
    patient_id: str
    question: str
    language: str
    """'en' or 'zh-TW': the answer is written in the question's language."""
    record: dict[str, Any]
    """The parsed PatientRecord (``model_dump(mode='json')``)."""
    deadline_at: float
    """Epoch seconds after which model steps are abandoned (the round deadline)."""
    context: str
    """The shared patient context block: first and byte-identical in every specialist prompt."""
    specialists: list[str]
    """The specialists ``route`` chose for this question."""
    route_origin: str
    """'model' when the router's structured call decided, 'rule' for the keyword fallback."""
    reports: Annotated[list[dict[str, Any]], per_question]
    """One SpecialistReport per specialist that ran."""
    findings: Annotated[list[dict[str, Any]], per_question]
    """All findings (rule and model), each a dumped ``core.domain.Finding``."""
    degraded_reasons: Annotated[list[str], per_question]
    """Why parts of the round ran without the model; empty when all went well."""
    timings: Annotated[dict[str, float], merge_timings]
    """Milliseconds per node."""
    answer: str
    cards: list[dict[str, Any]]
    """The findings as problem cards by tier (``agents.cards.Card`` dumps), set by synthesize."""
    claims: list[dict[str, Any]]
    unsupported_citations: int
    proposals: list[dict[str, Any]]
    """Writes this round proposes (``agents.approvals.Proposal``); they wait for approval."""
    decisions: list[dict[str, Any]]
    """The approver's decisions, once recorded (outbox written, audited)."""
    settled: list[dict[str, Any]]
    """Every proposal decided on this thread, the latest decision each, with the facts it was
    decided on (``agents.approval_memory.Settled``): not proposed again while they stand."""
    standing: list[dict[str, Any]]
    """This round: the settled proposals the rules call for again on unchanged facts."""
    decided: list[dict[str, Any]] | None
    """Decisions taken (``approve``) and not yet recorded (``record_decision``): durable in the
    checkpoint before anything is written, so a crash in between completes them exactly once."""
    approval_attempt: int
    """Counts the thread's decision attempts (a new pause, a decision that failed): part of each
    decision's id, so a replayed decision is recognised and a new one is not taken for it."""
    approval_failure: dict[str, Any] | None
    """Why the latest decision was not recorded (``run_id``, ``error``, ``message``,
    ``http_status``, ``title``): the round went back to a fresh pause; that run reports it."""
    turns: Annotated[list[dict[str, Any]], operator.add]
    """The thread's conversation: one {question, answer, run_id} per completed round."""


__all__ = [
    "START_AFRESH",
    "SpecialistTask",
    "StartAfresh",  # defined beside the specialists that take it (agents.common)
    "WardRoundInput",
    "WardRoundState",
    "merge_timings",
    "per_question",
]
