"""Tools over the parsed record for the history summarizer and other agents: look-ups, note search,
and the record's data-quality findings."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from core.domain import (
    Citation,
    DataIssue,
    Finding,
    Medication,
    Observation,
    PatientRecord,
    Severity,
)
from tools.fhir.tooling import RecordTool, registry

_ISSUE_SEVERITY = {
    "impossible_value": Severity.high,
    "future_date": Severity.moderate,
    "unit_mismatch": Severity.moderate,
    "unresolved_file": Severity.low,
    "missing_value": Severity.low,
    "unknown_code": Severity.info,
}


def record_findings(record: PatientRecord) -> list[Finding]:
    """Each data issue found while parsing as a ``data_quality`` finding citing its resource."""
    return [_issue_finding(i, n) for n, i in enumerate(record.data_issues)]


def _issue_finding(issue: DataIssue, n: int) -> Finding:
    return Finding(
        id=f"data_quality:{issue.ref}#{n}",
        kind="data_quality",
        severity=_ISSUE_SEVERITY.get(issue.kind, Severity.low),
        summary=f"{issue.kind.replace('_', ' ')}: {issue.message}",
        citations=(Citation.fhir(issue.ref, label=issue.path),),
        source="FHIR R4 (hl7.org/fhir/R4) element definitions; wardround parse checks",
    )


class ObservationQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    loinc: list[str] = Field(default=[], description="LOINC codes to return; empty for all")
    category: str = Field(default="", description="'laboratory' or 'vital-signs'; empty for all")
    since: datetime | None = Field(default=None, description="only results at or after this time")


class ObservationList(BaseModel):
    observations: list[Observation]


def find_observations(record: PatientRecord, q: ObservationQuery) -> ObservationList:
    hits = [
        o
        for o in record.observations
        if (not q.loinc or o.loinc in q.loinc)
        and (not q.category or o.category == q.category)
        and (q.since is None or (o.effective is not None and o.effective >= q.since))
    ]
    return ObservationList(observations=hits)


class NoteQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="words to look for (case-insensitive; any script)", min_length=1)


class NoteHit(BaseModel):
    ref: str
    title: str
    date: datetime | None
    language: str
    snippet: str


class NoteHits(BaseModel):
    hits: list[NoteHit]


def search_notes(record: PatientRecord, q: NoteQuery) -> NoteHits:
    needle = q.text.casefold()
    hits = []
    for note in record.notes:
        at = note.text.casefold().find(needle)
        if at >= 0:
            snippet = note.text[max(0, at - 80) : at + len(needle) + 80]
            hits.append(
                NoteHit(
                    ref=note.ref,
                    title=note.title,
                    date=note.date,
                    language=note.language,
                    snippet=snippet,
                )
            )
    return NoteHits(hits=hits)


class MedicationQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    active_only: bool = Field(default=True, description="only active, draft and on-hold orders")


class MedicationList(BaseModel):
    medications: list[Medication]


def list_medications(record: PatientRecord, q: MedicationQuery) -> MedicationList:
    meds = record.active_medications() if q.active_only else record.medications
    return MedicationList(medications=list(meds))


class NoArguments(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FindingList(BaseModel):
    findings: list[Finding]


FHIR_TOOLS = registry(
    RecordTool(
        "find_observations",
        "Results and vital signs from the patient's record, filtered by LOINC, category or time.",
        ObservationQuery,
        find_observations,
    ),
    RecordTool(
        "search_notes",
        "Search the patient's notes and reports (English or Chinese) for words; cite the refs.",
        NoteQuery,
        search_notes,
    ),
    RecordTool(
        "list_medications",
        "The patient's medication orders and statements, including proposed orders.",
        MedicationQuery,
        list_medications,
    ),
    RecordTool(
        "record_data_quality",
        "Defects found in the record: future dates, impossible values, unknown codes.",
        NoArguments,
        lambda record, _q: FindingList(findings=record_findings(record)),
    ),
)
