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

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from agents.bedside import Charted, charted_consciousness, supplemental_oxygen
from core.domain import Citation, Finding, Observation, PatientRecord, Problem, Severity
from core.errors import InvalidInput
from core.logging import get_logger
from tools.calculators.admission import (
    APACHE_CREATININE,
    APACHE_HAEMATOCRIT,
    APACHE_HEART_RATE,
    APACHE_MAP,
    APACHE_PH,
    APACHE_POTASSIUM,
    APACHE_RESPIRATION,
    APACHE_SODIUM,
    APACHE_TEMPERATURE,
    APACHE_WBC,
    FINE_1997,
    KNAUS_1985,
    WBC_10E9_L,
    ApacheIiInput,
    Band,
    PsiInput,
    apache_ii,
    banded,
    pneumonia_severity_index,
)
from tools.calculators.base import CalcResult
from tools.calculators.bedside import GcsInput, SirsInput, glasgow_coma_scale, sirs
from tools.calculators.chemistry import CalciumInput, corrected_calcium
from tools.calculators.fluids import BloodPressureInput, mean_arterial_pressure
from tools.calculators.news2 import News2Input, news2
from tools.calculators.sepsis import Curb65Input, QsofaInput, curb65, qsofa
from tools.calculators.severity import VINCENT_1996, SofaInput, sofa
from tools.resolve.conditions import is_current, resolve_condition
from tools.units import CREATININE_MG_DL, GLUCOSE_MMOL_L, UREA_MMOL_L

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
# Vasopressors and inotropes by name (SOFA cardiovascular row); doses are rarely coded.
PRESSORS = {
    "noradrenaline": "noradrenaline", "norepinephrine": "noradrenaline",
    "adrenaline": "adrenaline", "epinephrine": "adrenaline",
    "dopamine": "dopamine", "dobutamine": "dobutamine",
}  # fmt: skip
# Infection on the problem list: sepsis A40-A41, R65.2; pneumonia J12-J18; urinary infection
# N39.0, N10; cellulitis L03; peritonitis K65 (ICD-10-CM). SOFA matters to the question there.
INFECTION_ICD = ("A40", "A41", "R65.2", *PNEUMONIA_ICD, "N39.0", "N10", "L03", "K65")


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


_GCS_SEVERITY = {"severe (<= 8)": Severity.high, "moderate (9-12)": Severity.moderate}


def gcs_finding(record: PatientRecord) -> Finding | None:
    """The latest coded Glasgow coma score, from the total or from its three components."""
    coded = coded_gcs(record)
    if not coded:
        return None
    g = coded[-1]
    if g.parts:
        result = glasgow_coma_scale(GcsInput(**g.parts))
        summary = f"{result.interpretation}, from its components"
    else:  # a charted total: the calculator's citation and bands, the total as charted
        result = glasgow_coma_scale(GcsInput(eye=4, verbal=5, motor=6)).model_copy(
            update={"value": float(g.total), "category": _gcs_band(g.total)}
        )
        summary = f"GCS {g.total} as charted: {result.category}"
    severity = _GCS_SEVERITY.get(result.category, Severity.low if g.total < 15 else Severity.info)
    return Finding(
        id="glasgow_coma_scale",
        kind="score",
        severity=severity,
        summary=summary,
        labs=(GCS,) if not g.parts else tuple(GCS_COMPONENTS),
        citations=(*(Citation.fhir(r) for r in g.refs), result.citation()),
        source=result.source,
    )


def _gcs_band(total: int) -> str:
    return "severe (<= 8)" if total <= 8 else "moderate (9-12)" if total <= 12 else "mild (13-15)"


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


# Forms that are no vasopressor infusion: an adrenaline auto-injector for anaphylaxis, adrenaline
# in a local anaesthetic, nebulised or topical forms; nor a route other than intravenous.
NOT_INFUSION = ("auto-injector", "autoinjector", "injector", "lidocaine", "articaine", "inhal",
                "nebul", "nasal", "topical", "ophthalmic")  # fmt: skip


def _pressors(record: PatientRecord, at: datetime | None) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for med in record.active_medications(at):
        name = med.name.lower()
        route = med.route.lower()
        if any(w in name for w in NOT_INFUSION) or (route and "intravenous" not in route):
            continue
        for word, drug in PRESSORS.items():
            if word in name:
                found.setdefault(drug, []).append(med.ref)
    return found


def _fio2(obs: Observation) -> float | None:
    """FiO2 as a fraction from LOINC 3150-0 charted in % or as a fraction."""
    if obs.value is None:
        return None
    value = obs.value / 100 if obs.unit == "%" or obs.value > 1 else obs.value
    return value if 0.21 <= value <= 1.0 else None


# Respiratory support for SOFA's respiration 3-4 (Vincent 1996: "with respiratory support"): a
# ventilator observation (LOINC names ventilator parameters with the system 'Ventilator', e.g.
# 20124-5 Ventilation mode, 19994-3 Oxygen/Total gas setting; SNOMED CT 40617009 artificial
# respiration in its codings), an oxygen device charted as CPAP, NIV, BiPAP or a ventilator, or an
# active problem of dependence on a respirator (ICD-10-CM Z99.11). Low-flow oxygen is not support.
VENTILATOR_LOINC = frozenset({"20124-5", "19994-3"})
VENTILATION_SNOMED = "40617009"
SUPPORT_WORDS = ("cpap", "niv", "bipap", "non-invasive ventilation", "ventilator", "intubat")
RESPIRATOR_ICD = ("Z99.11",)
# Urine output per 24 h for SOFA's renal row: LOINC 9192-6 (urine output 24 hour), or 9187-6
# (urine output) only when charted per day (mL/(24.h), mL/d).
URINE_24H = "9192-6"
URINE_OUTPUT = "9187-6"
PER_DAY = ("mL/(24.h)", "mL/d", "mL/24h", "mL/(24 h)")


def _supports(obs: Observation) -> bool:
    text = f"{obs.display} {obs.value_text}".lower()
    return (
        obs.loinc in VENTILATOR_LOINC
        or "ventilator" in obs.display.lower()
        or any(c.code == VENTILATION_SNOMED for c in obs.codings)
        or ("oxygen" in obs.display.lower() and any(w in text for w in SUPPORT_WORDS))
    )


def respiratory_support(record: PatientRecord, at: datetime | None) -> Charted | None:
    """Mechanical ventilation or CPAP/NIV charted within 12 h of ``at``, or a coded dependence
    on a respirator."""
    charted = [
        o for o in record.observations
        if _supports(o)
        and (at is None or (o.effective is not None and abs(o.effective - at) <= GCS_WINDOW))
    ]  # fmt: skip
    if obs := _closest(charted, at):
        shown = obs.value_text or (f"{obs.value:g} {obs.unit}" if obs.value is not None else "")
        return Charted("support", f"{obs.display} {shown}".strip(), Citation.fhir(obs.ref))
    if found := problems_coded(record, RESPIRATOR_ICD):
        return Charted("support", found[0].display, Citation.fhir(found[0].ref))
    return None


def _urine_24h(record: PatientRecord, at: datetime | None) -> Observation | None:
    daily = [
        o for o in record.observations
        if o.value is not None and o.value >= 0 and o.unit.startswith("mL")
        and (o.loinc == URINE_24H or (o.loinc == URINE_OUTPUT and o.unit in PER_DAY))
        and (at is None or (o.effective is not None and abs(o.effective - at) <= SOFA_WINDOW))
    ]  # fmt: skip
    return _closest(daily, at)


@dataclass
class _Inputs:
    """What one calculator took from the record: values, citations, what was missing/imputed."""

    values: dict[str, object]
    cites: list[Citation]
    missing: list[str]
    imputed: list[str]
    said: list[str] = field(default_factory=list)  # read from the record, not a bound


def _sofa_support(record: PatientRecord, at: datetime | None, got: _Inputs) -> None:
    support = respiratory_support(record, at)
    if support is None:
        got.imputed.append("respiratory support not coded: respiration scored at most 2")
    else:
        got.values["respiratory_support"] = True
        got.cites.append(support.citation)
        got.said.append(f"respiratory support from the record: {support.evidence}")


def _sofa_urine(record: PatientRecord, at: datetime | None, got: _Inputs) -> None:
    if (urine := _urine_24h(record, at)) is not None and urine.value is not None:
        got.values["urine_output_ml_day"] = urine.value
        got.cites.append(Citation.fhir(urine.ref))
        got.said.append(f"urine output {urine.value:g} mL/24 h from the record")


def _sofa_inputs(record: PatientRecord, at: datetime | None) -> _Inputs:
    got = _Inputs({}, [], [], [])

    def take(name: str, obs: Observation | None, value: object | None = None) -> None:
        if obs is None:
            return
        got.values[name] = obs.value if value is None else value
        got.cites.append(Citation.fhir(obs.ref))

    pao2 = _near_obs(record, {PAO2}, at, SOFA_WINDOW)
    fio2 = _near_obs(record, {FIO2}, at, SOFA_WINDOW)
    if pao2 is not None and pao2.value is not None:
        mmhg = pao2.value * 7.50062 if pao2.unit == "kPa" else pao2.value  # 1 kPa = 7.50062 mmHg
        fraction = _fio2(fio2) if fio2 is not None else None
        oxygen = supplemental_oxygen(record, pao2.effective)
        ventilated = respiratory_support(record, pao2.effective) is not None
        if fraction is None and not ventilated and (oxygen is None or oxygen.value == "air"):
            fraction = 0.21
            got.imputed.append("FiO2 0.21 (no oxygen charted near the blood gas)")
        if fraction is None:
            got.missing.append(
                "FiO2 (3150-0; oxygen or respiratory support charted, its concentration not)"
            )
        else:
            take("pao2_fio2", pao2, min(round(mmhg / fraction), 700))
            if fio2 is not None:
                got.cites.append(Citation.fhir(fio2.ref))
            _sofa_support(record, pao2.effective, got)
    else:
        got.missing.append("PaO2/FiO2 (arterial PaO2 2703-7)")
    platelets = _near_obs(record, {PLATELETS}, at, SOFA_WINDOW)
    take("platelets", platelets)
    if platelets is not None:
        got.values["platelets_unit"] = platelets.unit
    bilirubin = _near_obs(record, {BILIRUBIN}, at, SOFA_WINDOW)
    take("bilirubin", bilirubin)
    if bilirubin is not None:
        got.values["bilirubin_unit"] = bilirubin.unit
    creatinine = _near_obs(record, CREATININE_CODES, at, SOFA_WINDOW)
    take("creatinine", creatinine)
    if creatinine is not None:
        got.values["creatinine_unit"] = CREATININE_CODES[creatinine.loinc]
    bp = _latest_bp(record)
    if bp is not None:
        got.values["mean_arterial_pressure"] = (_value(bp, "sbp") + 2 * _value(bp, "dbp")) / 3
        got.cites.extend(Citation.fhir(o.ref) for o in bp.values())
    for drug, refs in _pressors(record, at).items():
        got.values[drug] = 0.01 if drug in ("noradrenaline", "adrenaline") else 1.0
        got.cites.extend(Citation.fhir(r) for r in refs)
        got.imputed.append(f"{drug} dose not coded: scored at its lowest dose band")
    _sofa_urine(record, at, got)
    gcs = _gcs_near(record, at)
    if gcs is not None:
        got.values["gcs"] = gcs.total
        got.cites.extend(Citation.fhir(r) for r in gcs.refs)
    names = {"platelets": "platelets (777-3)", "bilirubin": "bilirubin (1975-2)",
             "creatinine": "creatinine (2160-0)", "mean_arterial_pressure": "blood pressure",
             "gcs": "Glasgow coma score (9269-2 or its components)"}  # fmt: skip
    got.missing.extend(label for key, label in names.items() if key not in got.values)
    return got


# Normal values stand in for a missing organ system (0 points), as Seymour 2016 (Sepsis-3)
# scored missing SOFA values as normal; the finding names them, so the total is a lower bound.
_SOFA_NORMAL = {
    "pao2_fio2": 500.0, "platelets": 250.0, "platelets_unit": "10*9/L", "bilirubin": 10.0,
    "bilirubin_unit": "umol/L", "mean_arterial_pressure": 90.0, "gcs": 15,
    "creatinine": 70.0, "creatinine_unit": "umol/L",
}  # fmt: skip


def _infection(record: PatientRecord) -> list[Problem]:
    return problems_coded(record, INFECTION_ICD)


def sofa_finding(record: PatientRecord, *, suspected_infection: bool = False) -> Finding | None:
    """SOFA from the record where it matters (infection coded or suspected) or is complete;
    missing organ systems are scored normal and named (a lower bound)."""
    return _sofa(record, suspected_infection)[0]


def _sofa(record: PatientRecord, suspected_infection: bool) -> tuple[Finding | None, float | None]:
    at = _reference_time(record)
    got = _sofa_inputs(record, at)
    infection = _infection(record)
    if not (infection or suspected_infection) and got.missing:
        return None, None
    if len(got.missing) >= 4:  # two systems or fewer coded: no SOFA worth stating
        summary = "SOFA not computed: " + "; ".join(got.missing) + " not coded"
        return Finding(
            id="sofa", kind="score", severity=Severity.info, summary=summary,
            citations=tuple(Citation.fhir(p.ref) for p in infection), source=VINCENT_1996.cite(),
        ), None  # fmt: skip
    params = {**{k: v for k, v in _SOFA_NORMAL.items() if k not in got.values}, **got.values}
    if "platelets" in got.values and "platelets_unit" not in got.values:
        params["platelets_unit"] = "10*9/L"
    try:
        result = sofa(SofaInput(**params))
    except InvalidInput as err:
        log.warning("rules.sofa.skipped", reason=str(err)[:200])
        return None, None
    bound = " (a lower bound)" if got.missing or got.imputed else ""
    notes = [f"not coded, scored as normal: {', '.join(got.missing)}"] if got.missing else []
    notes.extend((*got.imputed, *got.said))
    points = ", ".join(f"{k} {v:g}" for k, v in result.components.items())
    severity = Severity.high if result.value >= 2 and infection else (
        Severity.moderate if result.value >= 2 else Severity.info
    )  # fmt: skip
    finding = Finding(
        id="sofa",
        kind="score",
        severity=severity,
        summary=f"SOFA {result.value:g}{bound}: {points}"
        + (f" ({'; '.join(notes)})" if notes else ""),
        citations=(
            *dict.fromkeys(got.cites),
            *(Citation.fhir(p.ref) for p in infection),
            result.citation(),
        ),
        source=result.source,
    )
    return finding, result.value


def _reference_time(record: PatientRecord) -> datetime | None:
    """The latest vital sign's time (else the latest result's): 'now' in the record."""
    vitals = latest_vitals(record)
    times = [o.effective for o in vitals.values() if o.effective] or [
        o.effective for o in record.observations if o.effective
    ]
    return max(times) if times else None


def sirs_result(record: PatientRecord) -> tuple[CalcResult, list[Citation]] | None:
    """SIRS from the latest T, HR and RR and the white count (and PaCO2) within 24 h of them."""
    v = latest_vitals(record)
    if not all(k in v for k in ("temp", "hr", "rr")):
        return None
    at = v["rr"].effective
    wbc = _near_obs(record, {WBC}, at, LAB_NEAR_VITALS)
    if wbc is None or wbc.value is None:
        return None
    paco2 = _near_obs(record, {PACO2}, at, LAB_NEAR_VITALS)
    try:
        result = sirs(
            SirsInput(
                temperature=_value(v, "temp"), heart_rate=_value(v, "hr"),
                respiration_rate=_value(v, "rr"), wbc=wbc.value,
                paco2_mmhg=None if paco2 is None else paco2.value,
            )
        )  # fmt: skip
    except InvalidInput as err:
        log.warning("rules.sirs.skipped", reason=str(err)[:200])
        return None
    cites = [*_cites(v, ("temp", "hr", "rr")), Citation.fhir(wbc.ref)]
    if paco2 is not None:
        cites.append(Citation.fhir(paco2.ref))
    return result, cites


def corrected_calcium_result(record: PatientRecord) -> tuple[CalcResult, list[Citation]] | None:
    """Albumin-adjusted calcium from a calcium and an albumin drawn together (latest pair)."""
    pairs = [
        drawn
        for code in CALCIUM
        for drawn in drawn_together(record, {code: "calcium", ALBUMIN: "albumin"})
        if drawn["calcium"].unit == CALCIUM[code]
    ]
    latest = max(pairs, key=lambda d: _moment(d["calcium"]), default=None)
    if latest is None:
        return None
    try:
        result = corrected_calcium(
            CalciumInput(
                calcium=_value(latest, "calcium"), calcium_unit=latest["calcium"].unit,
                albumin=_value(latest, "albumin"), albumin_unit=latest["albumin"].unit,
            )
        )  # fmt: skip
    except InvalidInput as err:
        log.warning("rules.calcium.skipped", reason=str(err)[:200])
        return None
    return result, [Citation.fhir(o.ref) for o in latest.values()]


def map_result(record: PatientRecord) -> tuple[CalcResult, list[Citation]] | None:
    """Mean arterial pressure from the latest systolic and diastolic pressures charted together."""
    bp = _latest_bp(record)
    if bp is None:
        return None
    try:
        result = mean_arterial_pressure(
            BloodPressureInput(systolic_bp=_value(bp, "sbp"), diastolic_bp=_value(bp, "dbp"))
        )
    except InvalidInput:
        return None
    return result, [Citation.fhir(o.ref) for o in bp.values()]


# (finding id, what it is computed from, abnormal?, severity when abnormal, its normal wording)
_COMPUTED: tuple[
    tuple[
        str,
        Callable[[PatientRecord], tuple[CalcResult, list[Citation]] | None],
        Callable[[CalcResult], bool],
        Severity,
        Callable[[CalcResult], str],
    ],
    ...,
] = (
    ("mean_arterial_pressure", map_result, lambda r: r.category == "below 65", Severity.high,
     lambda r: f"MAP {r.value:.0f} mmHg"),
    ("sirs", sirs_result, lambda r: r.value >= 2, Severity.low,
     lambda r: f"SIRS {r.value:g} of 4"),
    ("corrected_calcium", corrected_calcium_result, lambda r: r.category != "normal",
     Severity.moderate,
     lambda r: f"corrected calcium {r.components['adjusted_mmol_l']:.2f} mmol/L"),
)  # fmt: skip


def record_calculation_findings(
    record: PatientRecord, anion_gap: CalcResult | None = None
) -> list[Finding]:
    """GCS, MAP, SIRS, corrected calcium and SOFA from the record: the abnormal ones as findings,
    the others (and a normal anion gap) listed in one 'computed from the record' finding;
    SOFA where infection is coded or qSOFA is 2 or more, with its missing inputs named."""
    found = [f for f in (gcs_finding(record),) if f is not None]
    normal: list[str] = []
    cites: list[Citation] = []
    for fid, compute, abnormal, severity, wording in _COMPUTED:
        got = compute(record)
        if got is None:
            continue
        result, refs = got
        if abnormal(result):
            found.append(_calc_finding(fid, result, refs, severity))
        else:
            normal.append(wording(result))
            cites.append(result.citation())
    if anion_gap is not None:
        normal.append(f"anion gap {anion_gap.value:g} mmol/L")
        cites.append(anion_gap.citation())
    suspected = qsofa_finding(record) is not None  # qSOFA >= 2: Sepsis-3's prompt to look
    s, sofa_value = _sofa(record, suspected)
    if s is not None:
        found.append(s)
    for score in (apache_ii_finding(record, sofa_value=sofa_value), psi_finding(record)):
        if score is not None:
            found.append(score)
    if normal:
        found.append(
            Finding(
                id="computed_from_record", kind="calculation", severity=Severity.info,
                summary="Also computed from the record, not flagged by their calculators: "
                + "; ".join(normal),
                citations=tuple(cites),
                source="tools.calculators (each citation names its calculator)",
            )
        )  # fmt: skip
    return found


def _calc_finding(
    fid: str, result: CalcResult, refs: list[Citation], severity: Severity
) -> Finding:
    return Finding(
        id=fid, kind="calculation", severity=severity, summary=result.interpretation,
        citations=(*refs, result.citation()), source=result.source,
    )  # fmt: skip


# --- APACHE II and PSI/PORT from the record (issue #18 item 2) ------------------------------------
# Each variable takes its worst value (the most points) within 24 h of 'now' in the record, as
# APACHE II scores the worst values of the first 24 h (Knaus 1985); a variable not coded there is
# scored as normal (0 points), named, and the total is then a lower bound, as SOFA is above.
# LOINC: temperature 8310-5, HR 8867-4, RR 9279-1, PaO2 2703-7, PaCO2 2019-8, FiO2 3150-0, arterial
# pH 2744-1, sodium 2951-2/2947-0, potassium 2823-3/6298-4, creatinine 2160-0/14682-9, haematocrit
# 4544-3/20570-8 (%), WBC 6690-2, urea 22664-7 / BUN 3094-0/6299-2, glucose 2345-7/2339-0 (mg/dL),
# 14749-6/15074-8 (mmol/L).
ADMISSION_WINDOW = timedelta(hours=24)
ARTERIAL_PH = "2744-1"
SODIUM = ("2951-2", "2947-0")
POTASSIUM = ("2823-3", "6298-4")
HAEMATOCRIT = ("4544-3", "20570-8")
GLUCOSE = {"2345-7": "mg/dL", "2339-0": "mg/dL", "14749-6": "mmol/L", "15074-8": "mmol/L"}
# ICD-10-CM N17 acute kidney failure: APACHE II doubles the creatinine points (Knaus 1985).
ACUTE_RENAL_FAILURE_ICD = ("N17",)
# Knaus 1985's chronic health definitions (organ insufficiency or immunocompromise evident before
# admission) as ICD-10-CM: liver: alcoholic and other cirrhosis K70.3, K74.3-K74.6, portal
# hypertension K76.6, oesophageal varices I85; respiratory: chronic respiratory failure J96.1,
# dependence on supplemental oxygen Z99.81 or a respirator Z99.11; renal: chronic dialysis Z99.2,
# end-stage renal disease N18.6; immunocompromise: immunodeficiency D80-D84, HIV disease B20,
# transplanted organ Z94, leukaemia and lymphoma C81-C96, long-term systemic steroids Z79.52.
# NYHA class IV heart failure cannot be read from ICD-10-CM (I50 carries no class): named instead.
CHRONIC_HEALTH_ICD = {
    "severe liver disease": ("K70.3", "K74.3", "K74.4", "K74.5", "K74.6", "K76.6", "I85"),
    "severe respiratory disease": ("J96.1", "Z99.81", "Z99.11"),
    "chronic dialysis": ("Z99.2", "N18.6"),
    "immunocompromise": ("D80", "D81", "D82", "D83", "D84", "B20", "Z94", "Z79.52",
                         *(f"C{n}" for n in range(81, 97))),
}  # fmt: skip
HEART_FAILURE_ICD = ("I50", "I11.0", "I13.0", "I13.2")
# Why APACHE II only here: it is an ICU admission score. It is computed where the record shows
# ICU-level signs: qSOFA >= 2 (Singer 2016, Sepsis-3: "should prompt ... consider escalation of
# therapy or referral to critical care"), NEWS2 >= 7 (RCP 2017: emergency response, consider
# transfer to critical care), or infection with SOFA >= 2 (Sepsis-3's definition of sepsis).
APACHE_WHY = (
    "ICU-level signs: qSOFA >= 2 or infection with SOFA >= 2 (Singer 2016, Sepsis-3), "
    "or NEWS2 >= 7 (RCP 2017)"
)
# Fine 1997, Table 2 footnotes, as ICD-10-CM: neoplastic disease: any cancer but basal or squamous
# cell skin cancer (C00-C97 except C44); liver disease: cirrhosis or other chronic liver disease
# (K70-K77, chronic viral hepatitis B18); heart failure (I50, I11.0, I13.0, I13.2);
# cerebrovascular disease: stroke or TIA (I60-I69, G45); renal disease: chronic renal disease
# (N18, hypertensive CKD I12). Pleural effusion: J90, J91. Nursing-home residence: ICD-10-CM Z59.3
# (problems related to living in a residential institution), rarely coded.
PSI_COMORBIDITY_ICD = {
    "neoplastic_disease": tuple(f"C{n:02d}" for n in range(0, 98) if n != 44),
    "liver_disease": ("K70", "K71", "K72", "K73", "K74", "K75", "K76", "K77", "B18"),
    "heart_failure": HEART_FAILURE_ICD,
    "cerebrovascular_disease": (*(f"I6{n}" for n in range(10)), "G45"),
    "renal_disease": ("N18", "I12"),
}  # fmt: skip
PLEURAL_EFFUSION_ICD = ("J90", "J91")
NURSING_HOME_ICD = ("Z59.3",)


def _within(
    record: PatientRecord,
    codes: dict[str, str] | tuple[str, ...],
    at: datetime | None,
    window: timedelta = ADMISSION_WINDOW,
) -> list[Observation]:
    """Numeric results of ``codes`` (LOINC, or LOINC -> the only unit accepted) near ``at``."""
    return [
        o for o in record.observations
        if o.loinc in codes and o.value is not None
        and (not isinstance(codes, dict) or o.unit.replace("µ", "u") == codes[o.loinc])
        and (at is None or (o.effective is not None and abs(o.effective - at) <= window))
    ]  # fmt: skip


def _worst(
    observations: list[Observation], points: Callable[[Observation], float]
) -> Observation | None:
    """The result with the most points (the latest of equals); None when there is none."""
    scored = []
    for o in observations:
        try:
            scored.append((points(o), _moment(o), o))
        except (InvalidInput, ValueError, StopIteration):
            continue
    return max(scored, key=lambda s: (s[0], s[1]))[2] if scored else None


def _num(obs: Observation) -> float:
    assert obs.value is not None  # _within keeps numeric results only
    return obs.value


def _mmhg(obs: Observation) -> float:
    return _num(obs) * 7.50062 if obs.unit == "kPa" else _num(obs)  # 1 kPa = 7.50062 mmHg


def _celsius_of(obs: Observation) -> float:
    return (_num(obs) - 32) * 5 / 9 if obs.unit in ("[degF]", "degF", "°F") else _num(obs)


def _coded(record: PatientRecord, prefixes: tuple[str, ...]) -> list[Problem]:
    return problems_coded(record, prefixes)


@dataclass
class _Taken:
    """What a score took from the record: its calculator's inputs, the citations, and what was
    scored as normal (missing) or assumed."""

    params: dict[str, object]
    cites: list[Citation]
    missing: list[str]
    assumed: list[str]

    def take(self, name: str, obs: Observation | None, value: object, label: str) -> bool:
        if obs is None:
            self.missing.append(label)
            return False
        self.params[name] = value
        self.cites.append(Citation.fhir(obs.ref))
        return True


def _apache_oxygenation(record: PatientRecord, at: datetime | None, got: _Taken) -> None:
    pao2 = _worst(_within(record, (PAO2,), at), lambda o: -_mmhg(o))
    if pao2 is None:
        got.missing.append("PaO2 (2703-7)")
        got.params.update(fio2=0.21, pao2_mmhg=90.0)
        return
    got.cites.append(Citation.fhir(pao2.ref))
    fio2_obs = _near_obs(record, {FIO2}, pao2.effective, SOFA_WINDOW)
    fraction = _fio2(fio2_obs) if fio2_obs is not None else None
    if fio2_obs is not None and fraction is not None:
        got.cites.append(Citation.fhir(fio2_obs.ref))
    elif respiratory_support(record, pao2.effective) is not None:
        got.missing.append("FiO2 (3150-0) on respiratory support")
        got.params.update(fio2=0.21, pao2_mmhg=90.0)
        return
    elif (oxygen := supplemental_oxygen(record, pao2.effective)) and oxygen.value == "oxygen":
        fraction = 0.4
        got.assumed.append("FiO2 not coded on oxygen: taken as < 0.5, PaO2 scored")
    else:
        fraction = 0.21
        got.assumed.append("FiO2 0.21 (no oxygen charted near the blood gas)")
    got.params.update(fio2=fraction, pao2_mmhg=min(round(_mmhg(pao2), 1), 700.0))
    if fraction >= 0.5:
        paco2 = _near_obs(record, {PACO2}, pao2.effective, timedelta(hours=1))
        if paco2 is None:
            got.missing.append("PaCO2 (2019-8) for the A-a gradient")
            got.params["a_a_gradient_mmhg"] = 100.0
        else:
            got.params["paco2_mmhg"] = round(_mmhg(paco2), 1)
            got.cites.append(Citation.fhir(paco2.ref))


def _apache_inputs(record: PatientRecord, at: datetime | None) -> _Taken:
    got = _Taken({}, [], [], [])

    def by(band: Band, value: Callable[[Observation], float]) -> Callable[[Observation], float]:
        return lambda o: banded(value(o), band)

    t = _worst(_within(record, ("8310-5",), at), by(APACHE_TEMPERATURE, _celsius_of))
    got.take(
        "temperature", t, None if t is None else round(_celsius_of(t), 1), "temperature (8310-5)"
    )
    pairs = [
        p for p in drawn_together(record, {"8480-6": "sbp", "8462-4": "dbp"})
        if at is None or (p["sbp"].effective and abs(p["sbp"].effective - at) <= ADMISSION_WINDOW)
    ]  # fmt: skip
    scored = [
        ((banded((_value(p, "sbp") + 2 * _value(p, "dbp")) / 3, APACHE_MAP), _moment(p["sbp"])), p)
        for p in pairs
    ]
    if scored:
        bp = max(scored, key=lambda s: s[0])[1]
        got.params.update(systolic_bp=_value(bp, "sbp"), diastolic_bp=_value(bp, "dbp"))
        got.cites.extend(Citation.fhir(o.ref) for o in bp.values())
    else:
        got.missing.append("blood pressure (8480-6 with 8462-4)")
    for name, codes, band, label in (
        ("heart_rate", ("8867-4",), APACHE_HEART_RATE, "heart rate (8867-4)"),
        ("respiration_rate", ("9279-1",), APACHE_RESPIRATION, "respiratory rate (9279-1)"),
        ("arterial_ph", (ARTERIAL_PH,), APACHE_PH, "arterial pH (2744-1)"),
        ("sodium", SODIUM, APACHE_SODIUM, "sodium (2951-2)"),
        ("potassium", POTASSIUM, APACHE_POTASSIUM, "potassium (2823-3)"),
        ("haematocrit", HAEMATOCRIT, APACHE_HAEMATOCRIT, "haematocrit (4544-3)"),
    ):
        found = _worst(_within(record, codes, at), by(band, _num))
        got.take(name, found, None if found is None else _num(found), label)
    cr = _worst(
        _within(record, CREATININE_CODES, at),
        by(APACHE_CREATININE,
           lambda o: CREATININE_MG_DL.to_canonical(_num(o), CREATININE_CODES[o.loinc], "cr")),
    )  # fmt: skip
    if got.take("creatinine", cr, None if cr is None else _num(cr), "creatinine (2160-0)"):
        assert cr is not None
        got.params["creatinine_unit"] = CREATININE_CODES[cr.loinc]
    wbc = _worst(
        _within(record, {WBC: "10*9/L"}, at) + _within(record, {WBC: "10*3/uL"}, at),
        by(APACHE_WBC, lambda o: WBC_10E9_L.to_canonical(_num(o), "10*9/L", "wbc")),
    )
    got.take("wbc", wbc, None if wbc is None else _num(wbc), "white cell count (6690-2)")
    _apache_oxygenation(record, at, got)
    near = [
        g for g in coded_gcs(record) if at is None or (g.at and abs(g.at - at) <= ADMISSION_WINDOW)
    ]
    if near:
        g = min(near, key=lambda g: g.total)
        got.params["gcs"] = g.total
        got.cites.extend(Citation.fhir(r) for r in g.refs)
    else:
        got.missing.append("Glasgow coma score (9269-2 or its components)")
    if arf := _coded(record, ACUTE_RENAL_FAILURE_ICD):
        got.params["acute_renal_failure"] = True
        got.cites.extend(Citation.fhir(p.ref) for p in arf)
    chronic = {what: _coded(record, icd) for what, icd in CHRONIC_HEALTH_ICD.items()}
    chronic = {what: found for what, found in chronic.items() if found}
    if chronic:
        got.params["chronic_health"] = "nonoperative_or_emergency"
        got.assumed.append(
            f"chronic health: {', '.join(chronic)} coded, admission taken as "
            "non-operative or emergency (5)"
        )
        got.cites.extend(Citation.fhir(p.ref) for found in chronic.values() for p in found)
    elif _coded(record, HEART_FAILURE_ICD):
        got.assumed.append("heart failure coded without its NYHA class: class IV not scored")
    return got


# A variable not coded is scored as normal: 0 points in every Knaus 1985 band.
_APACHE_NORMAL: dict[str, object] = {
    "temperature": 37.0, "systolic_bp": 120.0, "diastolic_bp": 75.0, "heart_rate": 80.0,
    "respiration_rate": 16.0, "arterial_ph": 7.4, "sodium": 140.0, "potassium": 4.0,
    "haematocrit": 40.0, "creatinine": 1.0, "creatinine_unit": "mg/dL", "wbc": 8.0, "gcs": 15,
}  # fmt: skip


def _lower_bound_note(missing: list[str], assumed: list[str]) -> tuple[str, str]:
    bound = " (a lower bound)" if missing else ""
    notes = [f"not coded, scored as normal: {', '.join(missing)}"] if missing else []
    notes.extend(assumed)
    return bound, f" ({'; '.join(notes)})" if notes else ""


def _icu_level_signs(record: PatientRecord, sofa_value: float | None) -> str:
    """Which ICU-level sign the record shows ('' for none): see APACHE_WHY."""
    if qsofa_finding(record) is not None:
        return "qSOFA >= 2 (Singer 2016, Sepsis-3)"
    news = news2_finding(record)
    if news is not None and news.severity is Severity.critical:  # NEWS2 'high': 7 or more
        return "NEWS2 >= 7 (RCP 2017)"
    if sofa_value is not None and sofa_value >= 2 and _infection(record):
        return "infection with SOFA >= 2 (Singer 2016, Sepsis-3)"
    return ""


def apache_ii_finding(record: PatientRecord, *, sofa_value: float | None = None) -> Finding | None:
    """APACHE II from the record where the patient shows ICU-level signs (APACHE_WHY)."""
    why = _icu_level_signs(record, sofa_value)
    if not why or record.patient.birth_date is None:
        return None
    at = _reference_time(record)
    age = record.patient.age_on(at.date()) if at else None
    if age is None or age < 16:
        return None  # Knaus 1985 derived it in adults
    got = _apache_inputs(record, at)
    if len(got.missing) > 4:  # fewer than 8 of its 12 physiological variables coded
        return Finding(
            id="apache_ii", kind="score", severity=Severity.info,
            summary=f"APACHE II not computed (ICU-level signs: {why}): " + "; ".join(got.missing)
            + " not coded",
            citations=tuple(got.cites), source=KNAUS_1985.cite(),
        )  # fmt: skip
    params = {**{k: v for k, v in _APACHE_NORMAL.items() if k not in got.params}, **got.params}
    try:
        result = apache_ii(ApacheIiInput(age=age, **params))
    except InvalidInput as err:
        log.warning("rules.apache_ii.skipped", reason=str(err)[:200])
        return None
    bound, notes = _lower_bound_note(got.missing, got.assumed)
    points = ", ".join(f"{k} {v:g}" for k, v in result.components.items() if v)
    return Finding(
        id="apache_ii",
        kind="score",
        severity=Severity.info,
        summary=f"APACHE II {result.value:g}{bound}: {points or 'no points'}; worst values "
        f"within 24 h of the latest vital signs; computed for ICU-level signs: {why}{notes}",
        citations=(*dict.fromkeys(got.cites), result.citation()),
        source=result.source,
    )


def _as_points(test: Callable[[Observation], bool]) -> Callable[[Observation], float]:
    return lambda o: float(test(o))


def _psi_inputs(record: PatientRecord, at: datetime | None) -> _Taken:
    got = _Taken({}, [], [], [])
    for name, icd in PSI_COMORBIDITY_ICD.items():
        if found := _coded(record, icd):
            got.params[name] = True
            got.cites.extend(Citation.fhir(p.ref) for p in found)
    if found := _coded(record, NURSING_HOME_ICD):
        got.params["nursing_home_resident"] = True
        got.cites.extend(Citation.fhir(p.ref) for p in found)
    else:
        got.missing.append("nursing-home residence (rarely coded; +10 if so)")
    if found := _coded(record, PLEURAL_EFFUSION_ICD):
        got.params["pleural_effusion"] = True
        got.cites.extend(Citation.fhir(p.ref) for p in found)
    known = mentation(record, at)
    if known is None:
        got.missing.append("mental status (GCS or new confusion)")
    else:
        got.params["altered_mental_status"] = known.confused
        got.cites.extend(known.citations)
    vitals: tuple[tuple[str, str, Callable[[Observation], bool], str], ...] = (
        ("respiration_rate", "9279-1", lambda o: _num(o) >= 30, "respiratory rate (9279-1)"),
        ("systolic_bp", "8480-6", lambda o: _num(o) < 90, "systolic pressure (8480-6)"),
        ("temperature", "8310-5", lambda o: not 35 <= _celsius_of(o) < 40, "temperature (8310-5)"),
        ("pulse", "8867-4", lambda o: _num(o) >= 125, "pulse (8867-4)"),
    )
    for name, code, scores, label in vitals:
        worst = _worst(_within(record, (code,), at), _as_points(scores))
        value = (
            None
            if worst is None
            else (_celsius_of(worst) if name == "temperature" else _num(worst))
        )
        got.take(name, worst, None if value is None else round(value, 1), label)
    ph = _worst(_within(record, (ARTERIAL_PH,), at), lambda o: -_num(o))
    got.take("arterial_ph", ph, None if ph is None else _num(ph), "arterial pH (2744-1)")
    urea = _worst(
        _within(record, UREA, at),
        lambda o: UREA_MMOL_L.to_canonical(_num(o), UREA[o.loinc], "urea"),
    )
    if got.take(
        "urea", urea, None if urea is None else _num(urea), "urea (22664-7) or BUN (3094-0)"
    ):
        assert urea is not None
        got.params["urea_unit"] = UREA[urea.loinc]
    sodium = _worst(_within(record, SODIUM, at), lambda o: -_num(o))
    got.take("sodium", sodium, None if sodium is None else _num(sodium), "sodium (2951-2)")
    glucose = _worst(
        _within(record, GLUCOSE, at),
        lambda o: GLUCOSE_MMOL_L.to_canonical(_num(o), GLUCOSE[o.loinc], "g"),
    )
    if got.take("glucose", glucose, None if glucose is None else _num(glucose), "glucose (2345-7)"):
        assert glucose is not None
        got.params["glucose_unit"] = GLUCOSE[glucose.loinc]
    hct = _worst(_within(record, HAEMATOCRIT, at), lambda o: -_num(o))
    got.take("haematocrit", hct, None if hct is None else _num(hct), "haematocrit (4544-3)")
    pao2 = _worst(_within(record, (PAO2,), at), lambda o: -_mmhg(o))
    if pao2 is not None:
        got.take("pao2_mmhg", pao2, round(_mmhg(pao2), 1), "PaO2")
    else:
        spo2 = _worst(_within(record, ("59408-5", "2708-6"), at), lambda o: -_num(o))
        got.take("spo2", spo2, None if spo2 is None else _num(spo2), "PaO2 (2703-7) or SpO2")
    return got


_PSI_SEVERITY = {
    "class IV": Severity.high,
    "class V": Severity.high,
    "class III": Severity.moderate,
}


def psi_finding(record: PatientRecord) -> Finding | None:
    """PSI/PORT (Fine 1997) where pneumonia is coded (ICD-10-CM J12-J18, or SNOMED CT mapped)."""
    pneumonia = problems_coded(record, PNEUMONIA_ICD)
    if not pneumonia or record.patient.birth_date is None:
        return None
    at = _reference_time(record)
    age = record.patient.age_on(at.date()) if at else None
    sex = record.patient.sex
    if age is None or age < 18 or sex not in ("male", "female"):
        return None  # Fine 1997: adults; the age points depend on sex
    got = _psi_inputs(record, at)
    # Fine 1997 scored missing values as normal; with fewer than 5 of its 11 examination and
    # laboratory variables coded, the lower bound says too little to state.
    unread = [m for m in got.missing if not m.startswith("nursing-home")]
    if len(unread) > 6:
        return Finding(
            id="pneumonia_severity_index", kind="score", severity=Severity.info,
            summary="PSI not computed: " + "; ".join(unread) + " not coded",
            citations=tuple(Citation.fhir(p.ref) for p in pneumonia), source=FINE_1997.cite(),
        )  # fmt: skip
    # Each yes/no criterion is given (True or False) so the calculator's 'assumed absent' warning
    # does not repeat what the finding says.
    normal = {"respiration_rate": 16.0, "systolic_bp": 120.0, "temperature": 37.0, "pulse": 80.0}
    flags = (
        "nursing_home_resident",
        "pleural_effusion",
        "altered_mental_status",
        *PSI_COMORBIDITY_ICD,
    )
    params = {**dict.fromkeys(flags, False), **normal, **got.params}
    try:
        result = pneumonia_severity_index(PsiInput(age=age, sex=sex, **params))
    except InvalidInput as err:
        log.warning("rules.psi.skipped", reason=str(err)[:200])
        return None
    bound, notes = _lower_bound_note(got.missing, got.assumed)
    points = ", ".join(f"{k} {v:g}" for k, v in result.components.items() if v)
    return Finding(
        id="pneumonia_severity_index",
        kind="score",
        severity=_PSI_SEVERITY.get(result.category, Severity.low),
        summary=f"PSI {result.value:g}{bound}, risk {result.category}: {points}; worst values "
        f"within 24 h of the latest vital signs{notes}",
        citations=(
            *dict.fromkeys([*got.cites, *(Citation.fhir(p.ref) for p in pneumonia)]),
            result.citation(),
        ),
        source=result.source,
    )
