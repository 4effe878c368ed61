"""Coded inputs read from the record, shared by every score in this package.

Vital signs and results by LOINC (latest, drawn together, closest to a moment within a window),
current problems by ICD-10-CM prefix (coded, or mapped from SNOMED CT), the Glasgow coma score
(its total, or its three components charted together) and coded mentation: a GCS within 12 h,
or an active problem of new confusion or delirium in the week before. Confusion wins over a
normal GCS; ``None`` when nothing is coded, so a caller states its score as a lower bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from core.domain import Citation, Observation, PatientRecord, Problem
from core.errors import InvalidInput
from core.logging import get_logger
from tools.calculators.bedside import GcsInput, glasgow_coma_scale
from tools.resolve.conditions import is_current, resolve_condition

log = get_logger(__name__)


# LOINC vital signs: RR 9279-1, SpO2 59408-5 / 2708-6, SBP 8480-6, DBP 8462-4, HR 8867-4,
# temperature 8310-5, inhaled oxygen flow 3151-8 / inhaled O2 concentration 3150-0.
VITALS = {
    "9279-1": "rr",
    "59408-5": "spo2",
    "2708-6": "spo2",
    "8480-6": "sbp",
    "8867-4": "hr",
    "8310-5": "temp",
}
GCS = "9269-2"  # Glasgow coma score total
ICD10 = "icd-10"
SNOMED = "http://snomed.info/sct"
# New confusion: ICD-10-CM R41.0 disorientation, R41.82 altered mental status, F05 delirium due
# to a known physiological condition; SNOMED CT 130987000 acute confusion, 2776000 delirium.
CONFUSION_ICD = ("R41.0", "R41.82", "F05")
CONFUSION_SNOMED = frozenset({"130987000", "2776000"})
GCS_WINDOW = timedelta(hours=12)
NEW_CONFUSION = timedelta(days=7)


@dataclass(frozen=True)
class Mentation:
    """Coded mentation near a moment: confused or not, and the facts that say so."""

    confused: bool
    evidence: str
    citations: tuple[Citation, ...]


def _moment(obs: Observation) -> float:
    return obs.effective.timestamp() if obs.effective else float("-inf")


def _codes(problem: Problem, system: str) -> list[str]:
    if system == ICD10:  # ICD-10 as coded, or read from SNOMED CT (tools.resolve.conditions)
        return list(resolve_condition(problem).icd10cm)
    return [c.code for c in problem.codings if system in c.system and c.code]


def _active(problem: Problem) -> bool:
    return is_current(problem)


def problems_coded(record: PatientRecord, icd_prefixes: tuple[str, ...]) -> list[Problem]:
    """Current problems with an ICD-10-CM code (coded, or mapped from SNOMED CT) starting with
    one of ``icd_prefixes``."""
    return [
        p
        for p in record.problems
        if _active(p) and any(c.startswith(icd_prefixes) for c in _codes(p, ICD10))
    ]


def mentation(record: PatientRecord, at: datetime | None) -> Mentation | None:
    """Coded mentation at ``at`` (GCS within 12 h, or new confusion in the week before).

    Confusion wins over a normal GCS (a delirious patient can score 15); ``None`` when nothing
    is coded, so the caller states its score as a lower bound.
    """
    closest = _gcs_near(record, at)
    confusion = [
        p
        for p in record.problems
        if _active(p)
        and (
            any(c.startswith(CONFUSION_ICD) for c in _codes(p, ICD10))
            or CONFUSION_SNOMED & set(_codes(p, SNOMED))
        )
        and (at is None or (p.onset is not None and timedelta(0) <= at - p.onset <= NEW_CONFUSION))
    ]
    if confusion:
        cites = tuple(Citation.fhir(p.ref) for p in confusion)
        return Mentation(True, f"new confusion coded ({confusion[0].display})", cites)
    if closest is None:
        return None
    cites = tuple(Citation.fhir(r) for r in closest.refs)
    return Mentation(closest.total < 15, f"GCS {closest.total}", cites)


def drawn_together(
    record: PatientRecord, names: dict[str, str], *, units: tuple[str, ...] | None = None
) -> list[dict[str, Observation]]:
    """Sets of numeric results taken at the same moment that hold every name in ``names``.

    ``names`` maps LOINC to the name a calculator expects; ``units`` restricts accepted units.
    """
    sets: dict[object, dict[str, Observation]] = {}
    for obs in record.observations:
        name = names.get(obs.loinc)
        if name is None or obs.value is None or obs.effective is None:
            continue
        if units is None or obs.unit in units:
            sets.setdefault(obs.effective, {})[name] = obs
    wanted = set(names.values())
    return [drawn for drawn in sets.values() if set(drawn) == wanted]


def latest_vitals(record: PatientRecord) -> dict[str, Observation]:
    latest: dict[str, Observation] = {}
    for loinc, obs in record.latest_results().items():
        name = VITALS.get(loinc)
        if name and (name not in latest or _moment(obs) >= _moment(latest[name])):
            latest[name] = obs
    return latest


def _cites(vitals: dict[str, Observation], keys: tuple[str, ...]) -> tuple[Citation, ...]:
    return tuple(Citation.fhir(vitals[k].ref) for k in keys)


def _value(vitals: dict[str, Observation], key: str) -> float:
    value = vitals[key].value
    assert value is not None  # callers keep numeric observations only
    return value


# Community-acquired pneumonia, ICD-10-CM J12-J18 (viral, bacterial, unspecified organism).
PNEUMONIA_ICD = ("J12", "J13", "J14", "J15", "J16", "J17", "J18")
# Urea: LOINC 22664-7 (mmol/L) or blood urea nitrogen 3094-0 / 6299-2 (mg/dL).
UREA = {"22664-7": "mmol/L", "3094-0": "mg/dL", "6299-2": "mg/dL"}


def _closest(observations: list[Observation], at: datetime | None) -> Observation | None:
    if not observations:
        return None
    if at is None:
        return max(observations, key=_moment)
    return min(
        observations,
        key=lambda o: abs((o.effective - at).total_seconds()) if o.effective else float("inf"),
    )


# --- Every calculator whose inputs are coded (issue #18 item 2) -----------------------------------
# GCS: LOINC 9269-2 total, or its components 9267-6 eye, 9270-0 verbal, 9268-4 motor charted
# together. SOFA (Vincent 1996): PaO2 2703-7 over FiO2 3150-0, platelets 777-3, bilirubin 1975-2,
# MAP (from SBP/DBP) and vasopressors, GCS, creatinine 2160-0/14682-9. SIRS (Bone 1992): T, HR,
# RR, WBC 6690-2, PaCO2 2019-8. Corrected calcium (Payne 1973): calcium 17861-6/2000-8, albumin
# 1751-7. An abnormal result is a finding of its own; the normal ones, and what could not be
# computed for lack of an input, are listed in one 'computed from the record' finding.
GCS_COMPONENTS = {"9267-6": "eye", "9270-0": "verbal", "9268-4": "motor"}
PAO2, FIO2, PACO2 = "2703-7", "3150-0", "2019-8"
PLATELETS, BILIRUBIN, WBC = "777-3", "1975-2", "6690-2"
CALCIUM = {"17861-6": "mg/dL", "2000-8": "mmol/L"}
ALBUMIN = "1751-7"
CREATININE_CODES = {"2160-0": "mg/dL", "14682-9": "umol/L"}
SOFA_WINDOW = timedelta(hours=24)
LAB_NEAR_VITALS = timedelta(hours=24)


@dataclass(frozen=True)
class Gcs:
    """A Glasgow coma score read from the record: the total, its parts when charted, the refs."""

    total: int
    at: datetime | None
    refs: tuple[str, ...]
    parts: dict[str, int]


def coded_gcs(record: PatientRecord) -> list[Gcs]:
    """Every GCS in the record: charted totals (9269-2), and totals of components charted
    together (eye 9267-6 + verbal 9270-0 + motor 9268-4) where no total was charted then."""
    found = [
        Gcs(round(o.value), o.effective, (o.ref,), {})
        for o in record.observations
        if o.loinc == GCS and o.value is not None and 3 <= o.value <= 15
    ]
    totals_at = {g.at for g in found}
    for drawn in drawn_together(record, GCS_COMPONENTS):
        at = drawn["eye"].effective
        if at in totals_at:
            continue
        try:
            result = glasgow_coma_scale(
                GcsInput(**{part: round(_value(drawn, part)) for part in GCS_COMPONENTS.values()})
            )
        except InvalidInput as err:
            log.warning("rules.gcs.skipped", reason=str(err)[:200])
            continue
        parts = {k: int(v) for k, v in result.components.items()}
        found.append(Gcs(int(result.value), at, tuple(o.ref for o in drawn.values()), parts))
    return sorted(found, key=lambda g: g.at.timestamp() if g.at else float("-inf"))


def _gcs_near(record: PatientRecord, at: datetime | None) -> Gcs | None:
    coded = coded_gcs(record)
    if at is not None:
        coded = [g for g in coded if g.at and abs(g.at - at) <= GCS_WINDOW]
    if not coded:
        return None
    if at is None:
        return coded[-1]
    return min(coded, key=lambda g: abs((g.at - at).total_seconds()) if g.at else float("inf"))


def _near_obs(
    record: PatientRecord, codes: dict[str, str] | set[str], at: datetime | None, window: timedelta
) -> Observation | None:
    """The result of one of ``codes`` (LOINC, or LOINC -> the only unit accepted) closest to
    ``at`` within ``window``; the latest when ``at`` is None."""
    accepted = [
        o for o in record.observations
        if o.loinc in codes and o.value is not None and o.value > 0
        and (not isinstance(codes, dict) or o.unit.replace("µ", "u") == codes[o.loinc])
        and (at is None or (o.effective is not None and abs(o.effective - at) <= window))
    ]  # fmt: skip
    return _closest(accepted, at)


def _latest_bp(record: PatientRecord) -> dict[str, Observation] | None:
    pairs = drawn_together(record, {"8480-6": "sbp", "8462-4": "dbp"})
    return max(pairs, key=lambda d: _moment(d["sbp"]), default=None)


def _reference_time(record: PatientRecord) -> datetime | None:
    """The latest vital sign's time (else the latest result's): 'now' in the record."""
    vitals = latest_vitals(record)
    times = [o.effective for o in vitals.values() if o.effective] or [
        o.effective for o in record.observations if o.effective
    ]
    return max(times) if times else None
