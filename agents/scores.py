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
from dataclasses import dataclass
from datetime import datetime, timedelta

from agents.bedside import Charted, charted_consciousness, supplemental_oxygen
from core.domain import Citation, Finding, Observation, PatientRecord, Problem, Severity
from core.errors import InvalidInput
from core.logging import get_logger
from tools.calculators.base import CalcResult
from tools.calculators.bedside import GcsInput, SirsInput, glasgow_coma_scale, sirs
from tools.calculators.chemistry import CalciumInput, corrected_calcium
from tools.calculators.fluids import BloodPressureInput, mean_arterial_pressure
from tools.calculators.news2 import News2Input, news2
from tools.calculators.sepsis import Curb65Input, QsofaInput, curb65, qsofa
from tools.calculators.severity import VINCENT_1996, SofaInput, sofa
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


def _pressors(record: PatientRecord, at: datetime | None) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for med in record.active_medications(at):
        name = med.name.lower()
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


@dataclass
class _Inputs:
    """What one calculator took from the record: values, citations, what was missing/imputed."""

    values: dict[str, object]
    cites: list[Citation]
    missing: list[str]
    imputed: list[str]


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
        if fraction is None and (oxygen is None or oxygen.value == "air"):
            fraction = 0.21
            got.imputed.append("FiO2 0.21 (no oxygen charted near the blood gas)")
        if fraction is None:
            got.missing.append("FiO2 (oxygen charted, its concentration not coded)")
        else:
            take("pao2_fio2", pao2, min(round(mmhg / fraction), 700))
            if fio2 is not None:
                got.cites.append(Citation.fhir(fio2.ref))
            got.imputed.append("respiratory support not coded: respiration scored at most 2")
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
    at = _reference_time(record)
    got = _sofa_inputs(record, at)
    infection = _infection(record)
    if not (infection or suspected_infection) and got.missing:
        return None
    if len(got.missing) >= 4:  # two systems or fewer coded: no SOFA worth stating
        summary = "SOFA not computed: " + "; ".join(got.missing) + " not coded"
        return Finding(
            id="sofa", kind="score", severity=Severity.info, summary=summary,
            citations=tuple(Citation.fhir(p.ref) for p in infection), source=VINCENT_1996.cite(),
        )  # fmt: skip
    params = {**{k: v for k, v in _SOFA_NORMAL.items() if k not in got.values}, **got.values}
    if "platelets" in got.values and "platelets_unit" not in got.values:
        params["platelets_unit"] = "10*9/L"
    try:
        result = sofa(SofaInput(**params))
    except InvalidInput as err:
        log.warning("rules.sofa.skipped", reason=str(err)[:200])
        return None
    bound = " (a lower bound)" if got.missing or got.imputed else ""
    notes = [f"not coded, scored as normal: {', '.join(got.missing)}"] if got.missing else []
    notes.extend(got.imputed)
    points = ", ".join(f"{k} {v:g}" for k, v in result.components.items())
    severity = Severity.high if result.value >= 2 and infection else (
        Severity.moderate if result.value >= 2 else Severity.info
    )  # fmt: skip
    return Finding(
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
    if (s := sofa_finding(record, suspected_infection=suspected)) is not None:
        found.append(s)
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
