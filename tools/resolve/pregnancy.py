"""Is the patient pregnant now? From conditions (ICD-10-CM O-codes, Z33/Z34, SNOMED CT pregnancy
findings through the condition map) and observations (pregnancy status, a positive hCG test).

A pregnancy lasts at most about 42 weeks, so evidence older than 300 days before the record's
latest entry says nothing about now (WHO ICD-11 / ACOG: post-term is 42 weeks, 294 days).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from core.domain import Citation, Observation, PatientRecord
from tools.resolve.conditions import resolve_conditions

# LOINC 82810-3 Pregnancy status, 11449-6 Pregnancy status - Reported; 2106-3 Choriogonadotropin
# (pregnancy test) [Presence] in Urine, 2118-8 ... in Serum or Plasma.
PREGNANCY_STATUS = frozenset({"82810-3", "11449-6"})
HCG_PRESENCE = frozenset({"2106-3", "2118-8"})
# The answers, by their display (SNOMED CT 77386006 Pregnant, LOINC LA15173-0 Pregnant;
# SNOMED CT 10828004 Positive, LOINC LA6576-8 Positive); "not pregnant", "negative" are not.
RECENT = timedelta(days=300)


def latest_moment(record: PatientRecord) -> datetime | None:
    """The record's own 'now': its latest dated result, encounter or order."""
    moments = [o.effective for o in record.observations]
    moments += [e.start for e in record.encounters] + [m.start for m in record.medications]
    dated = [m for m in moments if m is not None]
    return max(dated) if dated else None


def _says_pregnant(obs: Observation) -> bool:
    codes = {c.code for c in obs.codings}
    answer = obs.value_text.strip().lower()
    if codes & PREGNANCY_STATUS:
        return answer.startswith("pregnant") or answer == "yes"
    if codes & HCG_PRESENCE:
        return answer.startswith(("positive", "detected"))
    return False


def pregnancy_evidence(record: PatientRecord, now: datetime | None = None) -> list[Citation]:
    """What says this patient is pregnant now (none for a male patient)."""
    if record.patient.sex == "male":
        return []
    now = now or latest_moment(record)
    problems = {p.ref: p for p in record.problems}
    out: list[Citation] = []
    for r in resolve_conditions(record.problems):
        onset = problems[r.ref].onset
        recent = now is None or onset is None or now - onset <= RECENT
        if r.outcome == "resolved" and r.pregnancy and recent:
            out.append(Citation.fhir(r.ref, label=r.display))
    for obs in record.observations:
        recent = now is None or obs.effective is None or now - obs.effective <= RECENT
        if recent and _says_pregnant(obs):
            out.append(Citation.fhir(obs.ref, label=obs.display))
    return out
