"""Ward-round graph state: a narrow input schema beside the full state, reducers on the fields.

The approval protocol's values (``proposals``, ``decisions``, ``decided``, ``settled``,
``standing``) and the ``cards`` are the typed models themselves (``agents.approvals``,
``agents.approval_memory``, ``agents.cards``): nodes take and return them, and mypy checks them.
LangGraph's serializer stores them by class name; ``graphs.checkpoint.SERDE`` lists them, so they
load without its "unregistered type" warning. A checkpoint written before they were typed holds
them as dicts: their channel (``Restored``) validates what a checkpoint holds into the models, so
such a thread loads and resumes as the same models. The other values are JSON-plain (dicts of
dumped pydantic models); ``agents`` turn them back into domain models at the edges.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from functools import cache
from typing import Annotated, Any, Literal, NotRequired, Self

from langgraph._internal._typing import MISSING  # what an empty channel holds
from langgraph.channels.last_value import LastValue
from langgraph.graph.state import CompiledStateGraph
from pydantic import TypeAdapter

# typing's TypedDict gives pydantic (and so LangGraph Studio's input schema) nothing on 3.11
from typing_extensions import TypedDict

from agents.approval_memory import Settled
from agents.approvals import Proposal, RecordedDecision
from agents.cards import Card
from agents.common import SpecialistTask
from agents.conversation import ThreadTurn
from agents.router import SpecialistName

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
    """Milliseconds per step of one question. An update holding ``START_AFRESH`` as a key
    (``load_record``'s) starts afresh: a thread's next question reports its own steps, never a
    step only an earlier question ran."""
    if right is None:
        return {}
    if START_AFRESH in right:
        return {step: ms for step, ms in right.items() if step != START_AFRESH}
    return {**(left or {}), **right}


@cache
def _adapter(typ: Any) -> TypeAdapter[Any]:
    return TypeAdapter(typ)


class Restored(LastValue[Any]):
    """A last-value channel that validates what a checkpoint holds into its annotated type.

    ``Annotated[list[Proposal], Restored]``: a checkpoint written before the approval values were
    typed holds them as dicts (and a serializer that blocks a type hands back its dict); the
    state a node or a snapshot reads holds the models either way. Models pass through as they
    are (pydantic does not revalidate an instance); copies within a run are not validated again."""

    def from_checkpoint(self, checkpoint: Any) -> Self:
        if checkpoint is not MISSING:
            checkpoint = _adapter(self.typ).validate_python(checkpoint)
        return super().from_checkpoint(checkpoint)

    def update(self, values: Sequence[Any]) -> bool:
        """A write of dicts (``update_state`` from a client) is validated the same way."""
        return super().update([_adapter(self.typ).validate_python(v) for v in values])


class WardRoundInput(TypedDict):
    """What a caller supplies to start a round."""

    patient_id: str
    """Patient id in the configured source, or a path to a FHIR bundle file."""
    question: str
    """The ward team's question, in English or Traditional Chinese."""
    turns: NotRequired[list[ThreadTurn]]
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
    specialists: list[SpecialistName]
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
    cards: Annotated[list[Card], Restored]
    """The findings as problem cards by tier, set by synthesize."""
    claims: list[dict[str, Any]]
    unsupported_citations: int
    proposals: Annotated[list[Proposal], Restored]
    """Writes this round proposes; they wait for approval."""
    decisions: Annotated[list[RecordedDecision], Restored]
    """The approver's decisions, once recorded (outbox written, audited)."""
    settled: Annotated[list[Settled], Restored]
    """Every proposal decided on this thread, the latest decision each, with the facts it was
    decided on (``agents.approval_memory.Settled``): not proposed again while they stand."""
    standing: Annotated[list[Settled], Restored]
    """This round: the settled proposals the rules call for again on unchanged facts."""
    decided: Annotated[list[RecordedDecision] | None, Restored]
    """Decisions taken (``approve``) and not yet recorded (``record_decision``): durable in the
    checkpoint before anything is written, so a crash in between completes them exactly once."""
    approval_attempt: int
    """Counts the thread's decision attempts (a new pause, a decision that failed): part of each
    decision's id, so a replayed decision is recognised and a new one is not taken for it."""
    approval_failure: dict[str, Any] | None
    """Why the latest decision was not recorded (``run_id``, ``error``, ``message``,
    ``http_status``, ``title``): the round went back to a fresh pause; that run reports it."""
    turns: Annotated[list[ThreadTurn], operator.add]
    """The thread's conversation: one {question, answer, run_id} per completed round."""


WardRoundGraph = CompiledStateGraph[WardRoundState, None, WardRoundInput, WardRoundState]
"""The compiled ward round (``graphs.ward_round.build_ward_round``)."""


# What each step writes: a node returns exactly its update (mypy checks the keys and types);
# the reducers above merge it into the state.


class LoadRecordUpdate(TypedDict):
    """``load_record``: the record and what every later step reads; the per-question lists
    start afresh (``START_AFRESH``, the one reset marker)."""

    record: dict[str, Any]
    context: str
    language: str
    deadline_at: float
    reports: StartAfresh
    findings: StartAfresh
    degraded_reasons: StartAfresh
    timings: dict[str, float]
    """``{START_AFRESH: 0, "load_record": ms}``: the question's timings start afresh too."""


class RouteUpdate(TypedDict):
    """``route``: the specialists this question needs (and whether the record was too large
    to check in full)."""

    specialists: list[SpecialistName]
    route_origin: str
    degraded_reasons: list[str]
    timings: dict[str, float]


class SynthesizeUpdate(TypedDict):
    """``synthesize``: the answer, its claims and the cards; the thread gains a turn."""

    answer: str
    cards: list[Card]
    claims: list[dict[str, Any]]
    unsupported_citations: int
    degraded_reasons: list[str]
    timings: dict[str, float]
    turns: list[ThreadTurn]


class ProposeUpdate(TypedDict):
    """``propose``: what this round proposes; earlier decisions and failures are cleared
    (``None``: no decision taken yet, a plain value, not a reset of a reduced list)."""

    answer: NotRequired[str]
    """The answer with what the thread decided appended, when it decided anything."""
    proposals: list[Proposal]
    standing: list[Settled]
    decisions: list[RecordedDecision]
    decided: None
    approval_failure: None
    approval_attempt: int


class DecisionUpdate(TypedDict, total=False):
    """``approve`` and ``record_decision``: a decision taken, recorded, or undone (a fresh
    attempt, and why, in ``approval_failure``)."""

    decided: list[RecordedDecision] | None
    decisions: list[RecordedDecision]
    settled: list[Settled]
    approval_attempt: int
    approval_failure: dict[str, Any] | None


__all__ = [
    "START_AFRESH",
    "DecisionUpdate",
    "LoadRecordUpdate",
    "ProposeUpdate",
    "Restored",
    "RouteUpdate",
    "SpecialistTask",  # defined beside the specialists that take it (agents.common)
    "StartAfresh",
    "SynthesizeUpdate",
    "ThreadTurn",  # beside the steps that read the conversation (agents.conversation)
    "WardRoundGraph",
    "WardRoundInput",
    "WardRoundState",
    "merge_timings",
    "per_question",
]
