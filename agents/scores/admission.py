"""PSI/PORT (Fine 1997) from the record, and the readers it shares with APACHE II.

The admission scores take each variable's worst value (the most points) within 24 h of 'now' in
the record; a variable not coded there is scored as normal, named, and the total is then a lower
bound. PSI is stated where pneumonia is coded: comorbidities, nursing-home residence and pleural
effusion from coded problems, mental status from coded mentation, and the worst vital signs and
results. APACHE II (``agents.scores.apache``) uses the same readers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from agents.scores.inputs import (
    PAO2,
    PNEUMONIA_ICD,
    UREA,
    _moment,
    _reference_time,
    mentation,
    problems_coded,
)
from core.domain import Citation, Finding, Observation, PatientRecord, Problem, Severity
from core.errors import InvalidInput
from core.logging import get_logger
from tools.calculators.admission import FINE_1997, PsiInput, pneumonia_severity_index
from tools.units import GLUCOSE_MMOL_L, UREA_MMOL_L

log = get_logger(__name__)


# --- APACHE II and PSI/PORT from the record (issue #18 item 2) ------------------------------------
# Each variable takes its worst value (the most points) within 24 h of 'now' in the record, as
# APACHE II scores the worst values of the first 24 h (Knaus 1985); a variable not coded there is
# scored as normal (0 points), named, and the total is then a lower bound, as SOFA's is.
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
# Heart failure (ICD-10-CM I50, I11.0, I13.0, I13.2): APACHE II names it without its NYHA class;
# PSI counts it as a comorbidity (Fine 1997).
HEART_FAILURE_ICD = ("I50", "I11.0", "I13.0", "I13.2")


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


def _lower_bound_note(missing: list[str], assumed: list[str]) -> tuple[str, str]:
    bound = " (a lower bound)" if missing else ""
    notes = [f"not coded, scored as normal: {', '.join(missing)}"] if missing else []
    notes.extend(assumed)
    return bound, f" ({'; '.join(notes)})" if notes else ""


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


def _as_points(test: Callable[[Observation], bool]) -> Callable[[Observation], float]:
    return lambda o: float(test(o))


def _psi_history(record: PatientRecord, at: datetime | None, got: _Taken) -> None:
    """Comorbidities, nursing-home residence, pleural effusion and mental status (Fine 1997)."""
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


def _psi_inputs(record: PatientRecord, at: datetime | None) -> _Taken:
    got = _Taken({}, [], [], [])
    _psi_history(record, at, got)
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
