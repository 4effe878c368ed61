"""APACHE II (Knaus 1985) from the record, where the patient shows ICU-level signs.

Worst values within 24 h of the latest vital signs (``agents.scores.admission``), oxygenation
from PaO2 with FiO2 (or the A-a gradient at FiO2 >= 0.5), the worst GCS, acute renal failure and
chronic health from coded problems.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from agents.bedside import supplemental_oxygen
from agents.scores.admission import (
    ADMISSION_WINDOW,
    ARTERIAL_PH,
    HAEMATOCRIT,
    HEART_FAILURE_ICD,
    POTASSIUM,
    SODIUM,
    _celsius_of,
    _coded,
    _lower_bound_note,
    _mmhg,
    _num,
    _Taken,
    _within,
    _worst,
)
from agents.scores.bedside import news2_finding, qsofa_finding
from agents.scores.inputs import (
    CREATININE_CODES,
    FIO2,
    PACO2,
    PAO2,
    SOFA_WINDOW,
    WBC,
    _moment,
    _near_obs,
    _reference_time,
    _value,
    coded_gcs,
    drawn_together,
)
from agents.scores.sofa import _fio2, _infection, respiratory_support
from core.domain import Citation, Finding, Observation, PatientRecord, Severity
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
    KNAUS_1985,
    WBC_10E9_L,
    ApacheIiInput,
    Band,
    apache_ii,
    banded,
)
from tools.units import CREATININE_MG_DL

log = get_logger(__name__)


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
# Why APACHE II only here: it is an ICU admission score. It is computed where the record shows
# ICU-level signs: qSOFA >= 2 (Singer 2016, Sepsis-3: "should prompt ... consider escalation of
# therapy or referral to critical care"), NEWS2 >= 7 (RCP 2017: emergency response, consider
# transfer to critical care), or infection with SOFA >= 2 (Sepsis-3's definition of sepsis).
APACHE_WHY = (
    "ICU-level signs: qSOFA >= 2 or infection with SOFA >= 2 (Singer 2016, Sepsis-3), "
    "or NEWS2 >= 7 (RCP 2017)"
)


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


def _apache_history(record: PatientRecord, got: _Taken) -> None:
    """Acute renal failure and chronic health (Knaus 1985) from coded problems."""
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
    _apache_history(record, got)
    return got


# A variable not coded is scored as normal: 0 points in every Knaus 1985 band.
_APACHE_NORMAL: dict[str, object] = {
    "temperature": 37.0, "systolic_bp": 120.0, "diastolic_bp": 75.0, "heart_rate": 80.0,
    "respiration_rate": 16.0, "arterial_ph": 7.4, "sodium": 140.0, "potassium": 4.0,
    "haematocrit": 40.0, "creatinine": 1.0, "creatinine_unit": "mg/dL", "wbc": 8.0, "gcs": 15,
}  # fmt: skip


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
