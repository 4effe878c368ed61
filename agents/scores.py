"""Bedside scores from the record: NEWS2, qSOFA, CURB-65 and HAS-BLED.

Mentation is taken from coded data only: a Glasgow coma score (LOINC 9269-2) near the vital
signs, or an active problem of new confusion or delirium. When neither is coded the patient is
taken as alert, which makes NEWS2, qSOFA and CURB-65 lower bounds, and the finding says so.
A GCS below 15 counts as altered mentation (Sepsis-3's qSOFA definition) and as new confusion
for NEWS2 ('C' of ACVPU, RCP 2017) and CURB-65. Supplemental oxygen is inferred from an
inhaled-oxygen observation. SpO2 scale 1 is used: scale 2 needs a clinician's prescribed 88-92%
target (RCP NEWS2 2017, chart 1), which a record rarely codes.

HAS-BLED needs the drugs' classes, which come from the knowledge graph: the guideline checker
calls it with them. Components a record cannot show (alcohol use, a labile INR off a vitamin K
antagonist) count as absent and are named in the finding.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from agents.bedside import Charted, charted_consciousness, supplemental_oxygen
from core.domain import Citation, Finding, Observation, PatientRecord, Problem, Severity
from core.errors import InvalidInput
from core.logging import get_logger
from tools.calculators.news2 import News2Input, news2
from tools.calculators.sepsis import Curb65Input, QsofaInput, curb65, qsofa
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

_NEWS2_SEVERITY = {"low": Severity.low, "low-medium": Severity.moderate, "medium": Severity.high}
_CURB65_SEVERITY = {"low": Severity.low, "intermediate": Severity.moderate, "high": Severity.high}
ASSUMED = "consciousness not recorded: taken as alert (score is a lower bound)"


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
    gcs = [o for o in record.observations if o.loinc == GCS and o.value is not None]
    if at is not None:
        gcs = [o for o in gcs if o.effective and abs(o.effective - at) <= GCS_WINDOW]
    closest = _closest(gcs, at)
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
    if closest is None or closest.value is None:
        return None
    return Mentation(closest.value < 15, f"GCS {closest.value:g}", (Citation.fhir(closest.ref),))


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


def _mentation_note(known: Mentation | None) -> str:
    if known is None:
        return ASSUMED
    return f"mentation from the record: {known.evidence}"


def _bedside_note(known: Mentation | None, acvpu: Charted | None, oxygen: Charted | None) -> str:
    mind = f"consciousness from the record: {acvpu.evidence}" if acvpu else _mentation_note(known)
    air = f"{oxygen.value} from the record: {oxygen.evidence}" if oxygen else "no oxygen charted"
    return f"{mind}; {air}"


def news2_finding(record: PatientRecord) -> Finding | None:
    v = latest_vitals(record)
    keys = ("rr", "spo2", "sbp", "hr", "temp")
    if not all(k in v for k in keys):
        return None
    at = v["rr"].effective
    oxygen, acvpu = supplemental_oxygen(record, at), charted_consciousness(record, at)
    known = mentation(record, at)
    consciousness = (
        acvpu.value if acvpu else ("new_confusion" if known and known.confused else "alert")
    )
    try:
        result = news2(
            News2Input(
                respiration_rate=round(_value(v, "rr")), spo2=round(_value(v, "spo2")),
                spo2_scale=1, on_oxygen=oxygen is not None and oxygen.value == "oxygen",
                systolic_bp=round(_value(v, "sbp")), pulse=round(_value(v, "hr")),
                consciousness=consciousness,
                temperature=_value(v, "temp"),
            )
        )  # fmt: skip
    except InvalidInput as err:
        log.warning("rules.news2.skipped", reason=str(err)[:200])
        return None
    severity = (
        Severity.critical
        if result.category == "high"
        else _NEWS2_SEVERITY.get(result.category, Severity.low)
    )
    return Finding(
        id="news2",
        kind="score",
        severity=severity,
        summary=f"{result.interpretation} ({_bedside_note(known, acvpu, oxygen)})",
        labs=tuple(v[k].loinc for k in keys),
        citations=(
            *_cites(v, keys),
            *((acvpu.citation,) if acvpu else known.citations if known else ()),
            *((oxygen.citation,) if oxygen else ()),
            result.citation(),
        ),
        source=result.source,
    )


def qsofa_finding(record: PatientRecord) -> Finding | None:
    """The highest qSOFA among the sets of RR and SBP recorded together (the admission's worst)."""
    best = None
    rr_sbp = {loinc: name for loinc, name in VITALS.items() if name in ("rr", "sbp")}
    for v in drawn_together(record, rr_sbp):
        known = mentation(record, v["rr"].effective)
        result = qsofa(
            QsofaInput(
                respiration_rate=round(_value(v, "rr")),
                systolic_bp=round(_value(v, "sbp")),
                altered_mentation=bool(known and known.confused),
            )
        )
        if best is None or result.value > best[0].value:
            best = (result, v, known)
    if best is None or best[0].value < 2:
        return None
    result, v, known = best
    when = v["rr"].effective.isoformat() if v["rr"].effective else "?"
    note = "mentation not recorded: a lower bound" if known is None else known.evidence
    return Finding(
        id="qsofa",
        kind="score",
        severity=Severity.high,
        summary=f"{result.interpretation} at {when} ({note})",
        labs=(v["rr"].loinc, v["sbp"].loinc),
        citations=(
            *_cites(v, ("rr", "sbp")),
            *(known.citations if known else ()),
            result.citation(),
        ),
        source=result.source,
    )


# Community-acquired pneumonia, ICD-10-CM J12-J18 (viral, bacterial, unspecified organism).
PNEUMONIA_ICD = ("J12", "J13", "J14", "J15", "J16", "J17", "J18")
# Urea: LOINC 22664-7 (mmol/L) or blood urea nitrogen 3094-0 / 6299-2 (mg/dL).
UREA = {"22664-7": "mmol/L", "3094-0": "mg/dL", "6299-2": "mg/dL"}
BP = {"9279-1": "rr", "8480-6": "sbp", "8462-4": "dbp"}


def _closest(observations: list[Observation], at: datetime | None) -> Observation | None:
    if not observations:
        return None
    if at is None:
        return max(observations, key=_moment)
    return min(
        observations,
        key=lambda o: abs((o.effective - at).total_seconds()) if o.effective else float("inf"),
    )


def curb65_finding(record: PatientRecord) -> Finding | None:
    """CURB-65 when pneumonia is on the problem list: the worst set of RR and BP recorded
    together, the urea closest to it, the age then, and coded mentation (else a lower bound)."""
    if not problems_coded(record, PNEUMONIA_ICD) or record.patient.birth_date is None:
        return None
    urea = [
        o
        for o in record.observations
        if o.loinc in UREA and o.value is not None and o.value > 0 and o.unit == UREA[o.loinc]
    ]
    best = None
    for v in drawn_together(record, BP):
        at = v["rr"].effective
        u = _closest(urea, at)
        if u is None or at is None or u.value is None:
            continue
        known = mentation(record, at)
        age = record.patient.age_on(at.date())
        try:
            result = curb65(
                Curb65Input(
                    confusion=bool(known and known.confused), urea=u.value,
                    urea_unit=UREA[u.loinc], respiration_rate=round(_value(v, "rr")),
                    systolic_bp=round(_value(v, "sbp")), diastolic_bp=round(_value(v, "dbp")),
                    age=age or 0,
                )
            )  # fmt: skip
        except InvalidInput as err:
            log.warning("rules.curb65.skipped", reason=str(err)[:200])
            continue
        if best is None or result.value > best[0].value:
            best = (result, v, u, known)
    if best is None:
        return None
    result, v, u, known = best
    note = "confusion not recorded: a lower bound" if known is None else known.evidence
    return Finding(
        id="curb65",
        kind="score",
        severity=_CURB65_SEVERITY[result.category or "low"],
        summary=f"{result.interpretation} ({note})",
        labs=(v["rr"].loinc, v["sbp"].loinc, v["dbp"].loinc, u.loinc),
        citations=(
            *_cites(v, ("rr", "sbp", "dbp")),
            Citation.fhir(u.ref),
            *(known.citations if known else ()),
            result.citation(),
        ),
        source=result.source,
    )
