"""History summarizer: problem list, active medications, allergies and the recent timeline.

Deterministic part: allergy findings straight from AllergyIntolerance resources (they must reach
the answer whatever the model says). Model part: a summary drawing on structured data and notes.
"""

from __future__ import annotations

from agents.common import SpecialistTask, findings_digest, record_of
from agents.deps import WardRoundDeps
from agents.specialist import Gathered, SpecialistSteps, explain_with
from core.domain import Citation, Finding, PatientRecord, Severity
from tools.resolve.allergies import resolve_allergies

NAME = "history"
INSTRUCTIONS = (
    "Role: history summarizer. Summarize the active problems, current medications, allergies "
    "and the recent timeline, using the structured lists and the notes (which may be in English "
    "or Traditional Chinese). Cite every point."
)


def allergy_findings(record: PatientRecord) -> list[Finding]:
    """Each current allergy; "no known allergy" entries and inactive, resolved or refuted ones
    are not allergies (``tools.resolve.allergies``)."""
    current = {r.ref for r in resolve_allergies(record.allergies) if r.outcome == "active"}
    return [
        Finding(
            id=f"allergy:{a.ref}",
            kind="allergy",
            severity=Severity.high if a.criticality == "high" else Severity.moderate,
            summary=f"Documented allergy: {a.substance}"
            + (f" (reaction: {a.reaction})" if a.reaction else ""),
            citations=(Citation.fhir(a.ref),),
            source="patient record (AllergyIntolerance)",
            specialist=NAME,
        )
        for a in record.allergies
        if a.ref in current
    ]


def timeline(record: PatientRecord) -> str:
    events = [(e.start, f"encounter {e.reason or e.status} [{e.ref}]") for e in record.encounters]
    events += [(n.date, f"note '{n.title}' [{n.ref}]") for n in record.notes]
    events += [(m.start, f"medication {m.name} [{m.ref}]") for m in record.medications]
    dated = sorted(((w, t) for w, t in events if w is not None), key=lambda e: e[0].timestamp())
    return "\n".join(f"- {w.isoformat()}: {text}" for w, text in dated[-12:]) or "(no dated events)"


async def gather(deps: WardRoundDeps, task: SpecialistTask) -> Gathered:
    record = record_of(task)
    findings = allergy_findings(record)
    evidence = f"Allergy findings:\n{findings_digest(findings)}\nTimeline:\n{timeline(record)}"
    summary = (
        f"{len(record.problems)} problems, {len(record.active_medications())} active medications, "
        f"{len(record.allergies)} allergies on record."
    )
    return Gathered(findings=findings, evidence=evidence, summary=summary)


STEPS = SpecialistSteps(NAME, gather, explain_with(INSTRUCTIONS, NAME))
