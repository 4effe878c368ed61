"""Admission severity: APACHE II (Knaus 1985) and the Pneumonia Severity Index (Fine 1997).

Both are point tables. Each physiological variable is scored by a banded table (``banded``):
the points of the first band whose upper bound the value is below. Knaus and Fine print integer
ranges (e.g. heart rate 110-139); a measured value between two printed ranges (139.5) falls in
the lower band, as the printed upper bounds are inclusive for whole numbers.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, Self

from pydantic import BeforeValidator, Field, model_validator

from tools.calculators.base import CalcInput, CalcResult, Calculator, Source
from tools.calculators.criteria import assumed_absent
from tools.units import (
    CREATININE_MG_DL,
    GLUCOSE_MMOL_L,
    UREA_MMOL_L,
    Analyte,
    CreatinineUnit,
    GlucoseUnit,
    PlateletUnit,
    UreaUnit,
    convert,
)

KNAUS_1985 = Source(
    authors="Knaus WA, Draper EA, Wagner DP, Zimmerman JE",
    title="APACHE II: a severity of disease classification system",
    published="Crit Care Med 13:818-829",
    year=1985,
)
FINE_1997 = Source(
    authors="Fine MJ, Auble TE, Yealy DM, et al.",
    title="A prediction rule to identify low-risk patients with community-acquired pneumonia",
    published="N Engl J Med 336:243-250",
    year=1997,
)
# White cell count: LOINC 6690-2 (leukocytes, blood), canonical 10^9/L; counts convert as
# platelets do (10*3/uL = 10*9/L; /uL by 10^-3). Bounds are plausibility, not a reference range.
WBC_10E9_L = Analyte("white cell count", "6690-2", "10*9/L", low=0.01, high=1000.0)
CountUnit = PlateletUnit
_TEMPERATURE_UNITS = {"c": "Cel", "°c": "Cel", "cel": "Cel", "f": "[degF]", "°f": "[degF]",
                      "degf": "[degF]", "[degf]": "[degF]"}  # fmt: skip


def _temperature_unit(value: object) -> object:
    """'C', '°C', 'Cel' -> 'Cel'; 'F', '°F', 'degF', '[degF]' -> '[degF]' (UCUM)."""
    return _TEMPERATURE_UNITS.get(value.strip().lower(), value) if isinstance(value, str) else value


TemperatureUnit = Annotated[Literal["Cel", "[degF]"], BeforeValidator(_temperature_unit)]
Band = tuple[tuple[float, float], ...]  # (upper bound, exclusive; points), ascending


def banded(value: float, bands: Band) -> float:
    """The points of the first band whose upper bound ``value`` is below."""
    return next(points for upper, points in bands if value < upper)


def _celsius(value: float, unit: TemperatureUnit) -> float:
    return (value - 32) * 5 / 9 if unit == "[degF]" else value


def _check_temperature(value: float, unit: TemperatureUnit) -> None:
    if not 20 <= _celsius(value, unit) <= 45:
        raise ValueError(
            f"temperature {value:g} {unit} is not a living patient's (20-45 Cel); check the "
            "value and its unit"
        )


def _temperature_note(value: float, unit: TemperatureUnit) -> tuple[str, ...]:
    if unit == "Cel":
        return ()
    return (f"temperature {value:g} degF = {_celsius(value, unit):.1f} Cel ((F - 32) x 5/9)",)


INF = math.inf
# Knaus 1985, Figure 1 (the APACHE II severity of disease classification system).
APACHE_TEMPERATURE: Band = (
    (30, 4), (32, 3), (34, 2), (36, 1), (38.5, 0), (39, 1), (41, 3), (INF, 4),
)  # fmt: skip
APACHE_MAP: Band = ((50, 4), (70, 2), (110, 0), (130, 2), (160, 3), (INF, 4))
APACHE_HEART_RATE: Band = ((40, 4), (55, 3), (70, 2), (110, 0), (140, 2), (180, 3), (INF, 4))
APACHE_RESPIRATION: Band = ((6, 4), (10, 2), (12, 1), (25, 0), (35, 1), (50, 3), (INF, 4))
APACHE_A_A_GRADIENT: Band = ((200, 0), (350, 2), (500, 3), (INF, 4))  # FiO2 >= 0.5
APACHE_PAO2: Band = ((55, 4), (61, 3), (71, 1), (INF, 0))  # FiO2 < 0.5
APACHE_PH: Band = (
    (7.15, 4), (7.25, 3), (7.33, 2), (7.5, 0), (7.6, 1), (7.7, 3), (INF, 4),
)  # fmt: skip
APACHE_SODIUM: Band = (
    (111, 4), (120, 3), (130, 2), (150, 0), (155, 1), (160, 2), (180, 3), (INF, 4),
)  # fmt: skip
APACHE_POTASSIUM: Band = (
    (2.5, 4), (3, 2), (3.5, 1), (5.5, 0), (6, 1), (7, 3), (INF, 4),
)  # fmt: skip
APACHE_CREATININE: Band = ((0.6, 2), (1.5, 0), (2, 2), (3.5, 3), (INF, 4))  # mg/dL
APACHE_HAEMATOCRIT: Band = ((20, 4), (30, 2), (46, 0), (50, 1), (60, 2), (INF, 4))
APACHE_WBC: Band = ((1, 4), (3, 2), (15, 0), (20, 1), (40, 2), (INF, 4))  # 10^9/L
APACHE_AGE: Band = ((45, 0), (55, 2), (65, 3), (75, 5), (INF, 6))
CHRONIC_HEALTH = {"none": 0.0, "elective_postoperative": 2.0, "nonoperative_or_emergency": 5.0}


class ApacheIiInput(CalcInput):
    age: float = Field(ge=16, le=125, description="age in years (derived in adults)")
    temperature: float = Field(description="core (rectal) temperature")
    temperature_unit: TemperatureUnit = Field(default="Cel", description="'Cel' or 'degF'")
    mean_arterial_pressure: float | None = Field(
        default=None, ge=10, le=250, description="MAP, mmHg (or give systolic and diastolic)"
    )
    systolic_bp: float | None = Field(default=None, ge=20, le=300, description="mmHg")
    diastolic_bp: float | None = Field(default=None, ge=5, le=200, description="mmHg")
    heart_rate: float = Field(ge=10, le=300, description="beats/min")
    respiration_rate: float = Field(ge=0, le=80, description="breaths/min (ventilated or not)")
    fio2: float = Field(ge=0.21, le=1.0, description="inspired oxygen fraction, 0.21-1.0")
    pao2_mmhg: float | None = Field(default=None, ge=10, le=700, description="PaO2 (FiO2 < 0.5)")
    a_a_gradient_mmhg: float | None = Field(
        default=None, ge=0, le=700, description="A-a gradient (FiO2 >= 0.5), or give PaO2+PaCO2"
    )
    paco2_mmhg: float | None = Field(default=None, ge=5, le=200, description="PaCO2, mmHg")
    arterial_ph: float = Field(ge=6.5, le=8.0, description="arterial pH")
    sodium: float = Field(ge=90, le=200, description="serum sodium, mmol/L (= mEq/L)")
    potassium: float = Field(ge=1, le=12, description="serum potassium, mmol/L (= mEq/L)")
    creatinine: float = Field(gt=0, description="serum creatinine")
    creatinine_unit: CreatinineUnit = Field(default="mg/dL", description="'mg/dL' or 'umol/L'")
    acute_renal_failure: bool = Field(default=False, description="doubles creatinine points")
    haematocrit: float = Field(ge=5, le=80, description="haematocrit, %")
    wbc: float = Field(gt=0, description="white cell count")
    wbc_unit: CountUnit = Field(default="10*9/L", description="'10*9/L', '10*3/uL' or '/uL'")
    gcs: int = Field(ge=3, le=15, description="Glasgow Coma Scale (15 if sedated and unknown)")
    chronic_health: Literal["none", "elective_postoperative", "nonoperative_or_emergency"] = Field(
        default="none",
        description="severe organ insufficiency or immunocompromise: 'none', "
        "'elective_postoperative' (2) or 'nonoperative_or_emergency' (5)",
    )

    @model_validator(mode="after")
    def _complete(self) -> Self:
        _check_temperature(self.temperature, self.temperature_unit)
        if self.mean_arterial_pressure is None and (
            self.systolic_bp is None or self.diastolic_bp is None
        ):
            raise ValueError("give mean_arterial_pressure, or systolic_bp and diastolic_bp")
        if (
            self.fio2 >= 0.5
            and self.a_a_gradient_mmhg is None
            and (self.pao2_mmhg is None or self.paco2_mmhg is None)
        ):
            raise ValueError("FiO2 >= 0.5: give a_a_gradient_mmhg, or pao2_mmhg and paco2_mmhg")
        if self.fio2 < 0.5 and self.pao2_mmhg is None:
            raise ValueError("FiO2 < 0.5: give pao2_mmhg")
        CREATININE_MG_DL.to_canonical(self.creatinine, self.creatinine_unit, "creatinine")
        WBC_10E9_L.to_canonical(self.wbc, self.wbc_unit, "wbc")
        return self

    def map_mmhg(self) -> float:
        if self.mean_arterial_pressure is not None:
            return self.mean_arterial_pressure
        assert self.systolic_bp is not None  # validated
        assert self.diastolic_bp is not None
        return (self.systolic_bp + 2 * self.diastolic_bp) / 3

    def a_a_gradient(self) -> float:
        """Given, or PAO2 - PaO2 with PAO2 = FiO2 x (760 - 47) - PaCO2 / 0.8 (sea level)."""
        if self.a_a_gradient_mmhg is not None:
            return self.a_a_gradient_mmhg
        assert self.pao2_mmhg is not None  # validated
        assert self.paco2_mmhg is not None
        return self.fio2 * (760 - 47) - self.paco2_mmhg / 0.8 - self.pao2_mmhg


def apache_ii(params: ApacheIiInput) -> CalcResult:
    """APACHE II = acute physiology points (12 variables) + age points + chronic health points."""
    creatinine = CREATININE_MG_DL.to_canonical(params.creatinine, params.creatinine_unit, "cr")
    wbc = WBC_10E9_L.to_canonical(params.wbc, params.wbc_unit, "wbc")
    if params.fio2 >= 0.5:
        oxygenation = banded(params.a_a_gradient(), APACHE_A_A_GRADIENT)
    else:
        assert params.pao2_mmhg is not None  # validated
        oxygenation = banded(params.pao2_mmhg, APACHE_PAO2)
    renal = banded(creatinine, APACHE_CREATININE) * (2 if params.acute_renal_failure else 1)
    points = {
        "temperature": banded(_celsius(params.temperature, params.temperature_unit),
                               APACHE_TEMPERATURE),
        "mean_arterial_pressure": banded(params.map_mmhg(), APACHE_MAP),
        "heart_rate": banded(params.heart_rate, APACHE_HEART_RATE),
        "respiration_rate": banded(params.respiration_rate, APACHE_RESPIRATION),
        "oxygenation": oxygenation,
        "arterial_ph": banded(params.arterial_ph, APACHE_PH),
        "sodium": banded(params.sodium, APACHE_SODIUM),
        "potassium": banded(params.potassium, APACHE_POTASSIUM),
        "creatinine": renal,
        "haematocrit": banded(params.haematocrit, APACHE_HAEMATOCRIT),
        "wbc": banded(wbc, APACHE_WBC),
        "gcs": float(15 - params.gcs),
        "age": banded(params.age, APACHE_AGE),
        "chronic_health": CHRONIC_HEALTH[params.chronic_health],
    }  # fmt: skip
    total = int(sum(points.values()))
    notes = (
        CREATININE_MG_DL.conversion_note(params.creatinine, params.creatinine_unit, "creatinine"),
        WBC_10E9_L.conversion_note(params.wbc, params.wbc_unit, "wbc"),
        *_temperature_note(params.temperature, params.temperature_unit),
    )
    return CalcResult(
        calculator="apache_ii",
        value=total,
        unit="{score}",
        interpretation=f"APACHE II {total} (0-71): acute physiology "
        f"{total - points['age'] - points['chronic_health']:g}, age {points['age']:g}, chronic "
        f"health {points['chronic_health']:g}; use the worst values of the first 24 h in the ICU",
        components=points,
        inputs=params.model_dump(mode="json"),
        conversions=tuple(n for n in notes if n),
        warnings=(
            "hospital mortality needs the admission diagnosis weight (Knaus 1985): not given here",
        ),
        source=KNAUS_1985.cite(),
    )


# Fine 1997, Table 2 (points) and Figure 1 (step 1: class I).
PSI_COMORBIDITY = {
    "neoplastic_disease": 30.0,
    "liver_disease": 20.0,
    "heart_failure": 10.0,
    "cerebrovascular_disease": 10.0,
    "renal_disease": 10.0,
}
PSI_CLASSES: Band = ((71, 2), (91, 3), (131, 4), (INF, 5))  # II <= 70, III 71-90, IV 91-130


class PsiInput(CalcInput):
    age: float = Field(ge=18, le=125, description="age in years (derived in adults)")
    sex: Literal["male", "female"] = Field(description="female: age - 10 points")
    nursing_home_resident: bool = False
    neoplastic_disease: bool = Field(default=False, description="active cancer, or within 1 year")
    liver_disease: bool = Field(default=False, description="cirrhosis or chronic hepatitis")
    heart_failure: bool = False
    cerebrovascular_disease: bool = Field(default=False, description="stroke or TIA")
    renal_disease: bool = Field(default=False, description="chronic renal disease")
    altered_mental_status: bool = Field(default=False, description="disorientation, stupor, coma")
    respiration_rate: float = Field(ge=0, le=80, description="breaths/min")
    systolic_bp: float = Field(ge=20, le=300, description="mmHg")
    temperature: float = Field(description="temperature")
    temperature_unit: TemperatureUnit = Field(default="Cel", description="'Cel' or 'degF'")
    pulse: float = Field(ge=10, le=300, description="beats/min")
    arterial_ph: float | None = Field(default=None, ge=6.5, le=8.0, description="arterial pH")
    urea: float | None = Field(default=None, gt=0, description="urea (mmol/L) or BUN (mg/dL)")
    urea_unit: UreaUnit = Field(default="mg/dL", description="'mg/dL' BUN or 'mmol/L' urea")
    sodium: float | None = Field(default=None, ge=90, le=200, description="mmol/L")
    glucose: float | None = Field(default=None, gt=0, description="glucose")
    glucose_unit: GlucoseUnit = Field(default="mg/dL", description="'mg/dL' or 'mmol/L'")
    haematocrit: float | None = Field(default=None, ge=5, le=80, description="haematocrit, %")
    pao2_mmhg: float | None = Field(default=None, ge=10, le=700, description="PaO2, mmHg")
    spo2: float | None = Field(default=None, ge=40, le=100, description="SaO2 if no PaO2, %")
    pleural_effusion: bool = Field(default=False, description="on the chest radiograph")

    @model_validator(mode="after")
    def _plausible(self) -> Self:
        _check_temperature(self.temperature, self.temperature_unit)
        if self.urea is not None:
            UREA_MMOL_L.to_canonical(self.urea, self.urea_unit, "urea")
        if self.glucose is not None:
            GLUCOSE_MMOL_L.to_canonical(self.glucose, self.glucose_unit, "glucose")
        return self


_PSI_LABS = ("arterial_ph", "urea", "sodium", "glucose", "haematocrit")


def _psi_labs(p: PsiInput) -> dict[str, float]:
    # BUN >= 30 mg/dL and glucose >= 250 mg/dL, compared after conversion to mmol/L.
    urea = None if p.urea is None else UREA_MMOL_L.to_canonical(p.urea, p.urea_unit, "urea")
    glucose = (
        None if p.glucose is None else GLUCOSE_MMOL_L.to_canonical(p.glucose, p.glucose_unit, "g")
    )
    oxygen_low = (p.pao2_mmhg is not None and p.pao2_mmhg < 60) or (
        p.pao2_mmhg is None and p.spo2 is not None and p.spo2 < 90
    )
    return {
        "arterial_ph": 30.0 * (p.arterial_ph is not None and p.arterial_ph < 7.35),
        "urea": 20.0 * (urea is not None and urea >= convert(30, "mg/dL", "mmol/L", "3094-0")),
        "sodium": 20.0 * (p.sodium is not None and p.sodium < 130),
        "glucose": 10.0
        * (glucose is not None and glucose >= convert(250, "mg/dL", "mmol/L", "2345-7")),
        "haematocrit": 10.0 * (p.haematocrit is not None and p.haematocrit < 30),
        "oxygenation": 10.0 * oxygen_low,
        "pleural_effusion": 10.0 * p.pleural_effusion,
    }


def _psi_warnings(params: PsiInput, missing: list[str]) -> tuple[str, ...]:
    unscored = ("not given, scored as normal (as in Fine 1997): " + ", ".join(missing),)
    criteria = (*PSI_COMORBIDITY, "nursing_home_resident", "altered_mental_status")
    return (
        *(unscored if missing else ()),
        *assumed_absent(params, (*criteria, "pleural_effusion")),
    )


def pneumonia_severity_index(params: PsiInput) -> CalcResult:
    """PSI/PORT points: age (women - 10), home, comorbidity, examination, labs (Fine 1997)."""
    celsius = _celsius(params.temperature, params.temperature_unit)
    exam = {
        "altered_mental_status": 20.0 * params.altered_mental_status,
        "respiration_rate": 20.0 * (params.respiration_rate >= 30),
        "systolic_bp": 20.0 * (params.systolic_bp < 90),
        "temperature": 15.0 * (celsius < 35 or celsius >= 40),
        "pulse": 10.0 * (params.pulse >= 125),
    }
    comorbidity = {name: pts * getattr(params, name) for name, pts in PSI_COMORBIDITY.items()}
    points = {
        "age": params.age - (10 if params.sex == "female" else 0),
        "nursing_home_resident": 10.0 * params.nursing_home_resident,
        **comorbidity,
        **exam,
        **_psi_labs(params),
    }
    total = round(sum(points.values()))
    step_one = params.age <= 50 and not any(comorbidity.values()) and not any(exam.values())
    risk_class = 1 if step_one else int(banded(total, PSI_CLASSES))
    roman = ("I", "II", "III", "IV", "V")[risk_class - 1]
    where = "outpatient care" if risk_class <= 2 else "brief inpatient observation" if (
        risk_class == 3
    ) else "inpatient care"  # fmt: skip
    missing = [name for name in _PSI_LABS if getattr(params, name) is None]
    if params.pao2_mmhg is None and params.spo2 is None:
        missing.append("pao2_mmhg or spo2")
    return CalcResult(
        calculator="pneumonia_severity_index",
        value=total,
        unit="{score}",
        category=f"class {roman}",
        interpretation=f"PSI {total} points, risk class {roman}"
        + (" (age <= 50, no comorbidity or abnormal sign: step 1)" if step_one else "")
        + f"; Fine 1997 suggests {where}",
        components=points,
        inputs=params.model_dump(mode="json"),
        conversions=_temperature_note(params.temperature, params.temperature_unit),
        warnings=_psi_warnings(params, missing),
        source=FINE_1997.cite(),
    )


ADMISSION_CALCULATORS: tuple[Calculator[Any], ...] = (
    Calculator(
        "apache_ii",
        "APACHE II severity score on ICU admission (worst values of the first 24 h).",
        ApacheIiInput,
        apache_ii,
        KNAUS_1985,
    ),
    Calculator(
        "pneumonia_severity_index",
        "Pneumonia Severity Index (PSI/PORT) points and risk class in community-acquired "
        "pneumonia.",
        PsiInput,
        pneumonia_severity_index,
        FINE_1997,
    ),
)
