"""The versioned result of one ward round: what ``wardround ask --json`` prints.

Schema version 1. Fields: ``run_id, thread_id, patient_id, question, answer, language, degraded,
degraded_reasons, findings[], cards[], claims[], specialists[], unsupported_citations, timings,
tokens, model, turns, proposals[], pending_approval, decisions[], settled[], outlook[]``. Adding a
field is compatible; renaming or removing one bumps ``schema_version``.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, Field

from agents.approval_memory import Settled
from agents.approvals import Proposal, RecordedDecision
from agents.cards import Card
from agents.outlook import OutlookItem, outlook, outlook_text
from core.domain import Claim, Finding, PatientRecord
from tools.units import written_unit

SCHEMA_VERSION: Literal["1"] = "1"


class SpecialistSummary(BaseModel):
    name: str
    summary: str
    findings: int
    degraded_reason: str | None = None
    duration_ms: float


class ModelInfo(BaseModel):
    base_url: str | None
    name: str | None
    tools: bool | None = None
    structured: str | None = None


class WardRoundResult(BaseModel):
    schema_version: Literal["1"] = SCHEMA_VERSION
    run_id: str
    thread_id: str
    patient_id: str
    question: str
    answer: str
    language: str
    degraded: bool = Field(description="true when any part ran without the model")
    degraded_reasons: list[str] = Field(default_factory=list)
    findings: list[Finding]
    cards: list[Card] = Field(
        default_factory=list,
        description="the findings grouped by clinical problem, tier act_now|review|"
        "for_information, in reading order (agents.cards); findings[] stays complete",
    )
    claims: list[Claim]
    specialists: list[SpecialistSummary]
    route_origin: str
    unsupported_citations: int = Field(description="citations removed by the verifier")
    timings: dict[str, float] = Field(description="milliseconds per node, and 'total'")
    tokens: dict[str, int]
    model: ModelInfo
    turns: int = Field(description="completed questions on this thread, this one included")
    proposals: list[Proposal] = Field(
        default_factory=list, description="writes this round proposes"
    )
    pending_approval: bool = Field(
        default=False, description="the thread is paused until a clinician decides the proposals"
    )
    decisions: list[RecordedDecision] = Field(
        default_factory=list, description="the clinician's decisions, once recorded"
    )
    settled: list[Settled] = Field(
        default_factory=list,
        exclude_if=lambda settled: not settled,
        description="proposals decided earlier on this thread that this round's facts call for "
        "again unchanged: not proposed again (absent when there are none)",
    )
    outlook: list[OutlookItem] = Field(
        default_factory=list,
        description="where the patient is heading: validated prognoses and labelled trends",
    )

    def outlook_text(self) -> str:
        """The Outlook section printed after the answer ('' when there is none)."""
        return outlook_text(self.outlook, self.language)

    def citations_text(self) -> list[str]:
        refs: dict[str, str] = {}
        cited = [f.citations for f in self.findings] + [c.citations for c in self.claims]
        for citations in cited:
            for c in citations:
                refs.setdefault(c.ref, c.label)
        return [f"{ref} {_written(label)}".strip() for ref, label in refs.items()]


_UCUM = re.compile(r"\S*[\[{]\S*")
"""A word holding a UCUM bracket or annotation (``mL/min/{1.73_m2}``, ``mm[Hg]``, ``{score}``)."""


def _written(label: str) -> str:
    """A citation's label with its units as people write them: a calculation's label carries the
    calculator's UCUM unit (``egfr = 20 mL/min/{1.73_m2} G4`` is printed
    ``egfr = 20 mL/min/1.73 m² G4``)."""
    return " ".join(_UCUM.sub(lambda m: written_unit(m.group(0)), label).split())


def result_from_state(
    state: dict[str, Any], *, pending_approval: bool = False, **meta: Any
) -> WardRoundResult:
    """The versioned result of a round's final state; ``pending_approval``: the run ended paused
    for a clinician's decision (the snapshot's interrupts, which are not part of the state)."""
    reports = state.get("reports") or []
    reasons = list(dict.fromkeys(state.get("degraded_reasons") or []))
    findings = [Finding.model_validate(f) for f in state.get("findings") or []]
    return WardRoundResult(
        patient_id=state["patient_id"],
        question=state["question"],
        answer=state.get("answer", ""),
        language=state.get("language", "en"),
        degraded=bool(reasons),
        degraded_reasons=reasons,
        findings=findings,
        cards=state.get("cards") or [],
        claims=[Claim.model_validate(c) for c in state.get("claims") or []],
        specialists=[
            SpecialistSummary(
                name=r["specialist"],
                summary=r["summary"],
                findings=len(r["findings"]),
                degraded_reason=r.get("degraded_reason"),
                duration_ms=r["duration_ms"],
            )
            for r in reports
        ],
        route_origin=state.get("route_origin", ""),
        unsupported_citations=state.get("unsupported_citations", 0),
        turns=len(state.get("turns") or []),
        proposals=state.get("proposals") or [],
        pending_approval=pending_approval,
        decisions=state.get("decisions") or [],
        settled=state.get("standing") or [],
        outlook=_outlook(state, findings),
        **meta,
    )


def _outlook(state: dict[str, Any], findings: list[Finding]) -> list[OutlookItem]:
    """The Outlook from the round's record and findings (after the round: no prompt sees it)."""
    record = state.get("record")
    if not record:
        return []
    return outlook(PatientRecord.model_validate(record), findings)
