"""SOFA (Vincent 1996) from the record, with the readers only it (and APACHE II) needs.

PaO2/FiO2 (FiO2 0.21 imputed on air), respiratory support (ventilator observations, CPAP/NIV
oxygen devices, or a coded dependence on a respirator), platelets, bilirubin, MAP and
vasopressors by name (doses rarely coded: lowest band), GCS, creatinine and 24 h urine output.
SOFA is stated where infection is coded or suspected, or where every input is coded; missing
organ systems are scored normal and named, so the total is a lower bound.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from agents.bedside import Charted, supplemental_oxygen
from agents.scores.inputs import (
    BILIRUBIN,
    CREATININE_CODES,
    FIO2,
    GCS_WINDOW,
    PAO2,
    PLATELETS,
    PNEUMONIA_ICD,
    SOFA_WINDOW,
    _closest,
    _gcs_near,
    _latest_bp,
    _near_obs,
    _reference_time,
    _value,
    problems_coded,
)
from core.domain import Citation, Finding, Observation, PatientRecord, Problem, Severity
from core.errors import InvalidInput
from core.logging import get_logger
from tools.calculators.severity import VINCENT_1996, SofaInput, sofa

log = get_logger(__name__)


# Vasopressors and inotropes by name (SOFA cardiovascular row); doses are rarely coded.
PRESSORS = {
    "noradrenaline": "noradrenaline", "norepinephrine": "noradrenaline",
    "adrenaline": "adrenaline", "epinephrine": "adrenaline",
    "dopamine": "dopamine", "dobutamine": "dobutamine",
}  # fmt: skip
# Infection on the problem list: sepsis A40-A41, R65.2; pneumonia J12-J18; urinary infection
# N39.0, N10; cellulitis L03; peritonitis K65 (ICD-10-CM). SOFA matters to the question there.
INFECTION_ICD = ("A40", "A41", "R65.2", *PNEUMONIA_ICD, "N39.0", "N10", "L03", "K65")


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
