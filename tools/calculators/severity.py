"""Severity and comorbidity: SOFA, Charlson comorbidity index, CIWA-Ar (alcohol withdrawal)."""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import Field, model_validator

from tools.calculators.base import CalcInput, CalcResult, Calculator, Source
from tools.calculators.criteria import assumed_absent, boolean_fields
from tools.units import (
    BILIRUBIN_MG_DL,
    CREATININE_MG_DL,
    PLATELETS_10E9_L,
    BilirubinUnit,
    CreatinineUnit,
    PlateletUnit,
)

VINCENT_1996 = Source(
    authors="Vincent JL, Moreno R, Takala J, et al.",
    title="The SOFA (Sepsis-related Organ Failure Assessment) score to describe organ "
    "dysfunction/failure",
    published="Intensive Care Med 22:707-710",
    year=1996,
)
CHARLSON_1987 = Source(
    authors="Charlson ME, Pompei P, Ales KL, MacKenzie CR",
    title="A new method of classifying prognostic comorbidity in longitudinal studies: "
    "development and validation (age points: Charlson 1994, J Clin Epidemiol 47:1245)",
    published="J Chronic Dis 40:373-383",
    year=1987,
)
SULLIVAN_1989 = Source(
    authors="Sullivan JT, Sykora K, Schneiderman J, Naranjo CA, Sellers EM",
    title="Assessment of alcohol withdrawal: the revised Clinical Institute Withdrawal "
    "Assessment for Alcohol scale (CIWA-Ar)",
    published="Br J Addict 84:1353-1357",
    year=1989,
)
# Severity bands of the CIWA-Ar total: the ASAM guideline (Sullivan 1989 printed none).
ASAM_2020 = (
    "ASAM Clinical Practice Guideline on Alcohol Withdrawal Management, J Addict Med 2020;14(3S "
    "Suppl 1):1-72, Table 1"
)


def _band(value: float, cuts: tuple[float, ...], ascending: bool = True) -> float:
    """Points 0-4 by how many cut-offs ``value`` passes (>= for ascending, < for descending)."""
    return float(sum(value >= c if ascending else value < c for c in cuts))


class SofaInput(CalcInput):
    pao2_fio2: float = Field(gt=0, le=700, description="PaO2/FiO2 ratio, mmHg")
    respiratory_support: bool = Field(default=False, description="ventilated or CPAP/NIV")
    platelets: float = Field(gt=0, description="platelet count")
    platelets_unit: PlateletUnit = Field(default="10*9/L", description="'10*9/L' or '/uL'")
    bilirubin: float = Field(gt=0, description="total bilirubin")
    bilirubin_unit: BilirubinUnit = Field(default="umol/L", description="'umol/L' or 'mg/dL'")
    mean_arterial_pressure: float = Field(ge=10, le=250, description="MAP, mmHg")
    dopamine: float = Field(default=0, ge=0, le=100, description="ug/kg/min")
    dobutamine: float = Field(default=0, ge=0, le=100, description="ug/kg/min (any dose: 2)")
    adrenaline: float = Field(default=0, ge=0, le=10, description="ug/kg/min")
    noradrenaline: float = Field(default=0, ge=0, le=10, description="ug/kg/min")
    gcs: int = Field(ge=3, le=15, description="Glasgow Coma Scale")
    creatinine: float = Field(gt=0, description="serum creatinine")
    creatinine_unit: CreatinineUnit = Field(default="umol/L", description="'umol/L' or 'mg/dL'")
    urine_output_ml_day: float | None = Field(default=None, ge=0, le=20000, description="mL/day")

    @model_validator(mode="after")
    def _plausible(self) -> Self:
        self.lab_values()
        return self

    def lab_values(self) -> tuple[float, float, float]:
        return (
            PLATELETS_10E9_L.to_canonical(self.platelets, self.platelets_unit, "platelets"),
            BILIRUBIN_MG_DL.to_canonical(self.bilirubin, self.bilirubin_unit, "bilirubin"),
            CREATININE_MG_DL.to_canonical(self.creatinine, self.creatinine_unit, "creatinine"),
        )


def _cardiovascular(p: SofaInput) -> float:
    if p.dopamine > 15 or p.adrenaline > 0.1 or p.noradrenaline > 0.1:
        return 4.0
    if p.dopamine > 5 or p.adrenaline > 0 or p.noradrenaline > 0:
        return 3.0
    if p.dopamine > 0 or p.dobutamine > 0:
        return 2.0
    return 1.0 if p.mean_arterial_pressure < 70 else 0.0


def _renal(creatinine: float, urine: float | None) -> float:
    points = _band(creatinine, (1.2, 2.0, 3.5, 5.0))
    if urine is not None:
        points = max(points, 4.0 if urine < 200 else 3.0 if urine < 500 else 0.0)
    return points


def sofa(params: SofaInput) -> CalcResult:
    """Six organ systems, 0-4 each (Vincent 1996, Table 1)."""
    platelets, bilirubin, creatinine = params.lab_values()
    respiration = _band(params.pao2_fio2, (400, 300, 200, 100), ascending=False)
    if not params.respiratory_support:
        respiration = min(respiration, 2.0)  # 3 and 4 need respiratory support
    points = {
        "respiration": respiration,
        "coagulation": _band(platelets, (150, 100, 50, 20), ascending=False),
        "liver": _band(bilirubin, (1.2, 2.0, 6.0, 12.0)),
        "cardiovascular": _cardiovascular(params),
        "cns": _band(float(params.gcs), (15, 13, 10, 6), ascending=False),
        "renal": _renal(creatinine, params.urine_output_ml_day),
    }
    total = int(sum(points.values()))
    return CalcResult(
        calculator="sofa",
        value=total,
        unit="{score}",
        interpretation=f"SOFA {total}; a rise of 2 or more with infection defines sepsis "
        "(Sepsis-3, Singer 2016)",
        components=points,
        inputs=params.model_dump(mode="json"),
        warnings=(() if params.urine_output_ml_day is not None else ("urine output not given",)),
        source=VINCENT_1996.cite(),
    )


class CharlsonInput(CalcInput):
    age: float = Field(ge=0, le=125, description="50-59: 1, 60-69: 2, 70-79: 3, >= 80: 4")
    myocardial_infarction: bool = False
    heart_failure: bool = False
    peripheral_vascular_disease: bool = False
    cerebrovascular_disease: bool = Field(default=False, description="stroke or TIA")
    dementia: bool = False
    chronic_pulmonary_disease: bool = False
    connective_tissue_disease: bool = False
    peptic_ulcer_disease: bool = False
    hemiplegia: bool = False
    moderate_severe_kidney_disease: bool = False
    leukaemia: bool = False
    lymphoma: bool = False
    aids: bool = False
    liver_disease: Literal["none", "mild", "moderate_severe"] = "none"
    diabetes: Literal["none", "uncomplicated", "end_organ_damage"] = "none"
    solid_tumour: Literal["none", "localised", "metastatic"] = "none"


# Charlson 1987 weights: 2 for these, 6 for AIDS, 1 for the other yes/no conditions.
_WEIGHT_2 = {"hemiplegia", "moderate_severe_kidney_disease", "leukaemia", "lymphoma"}
_GRADED = {
    "liver_disease": {"none": 0, "mild": 1, "moderate_severe": 3},
    "diabetes": {"none": 0, "uncomplicated": 1, "end_organ_damage": 2},
    "solid_tumour": {"none": 0, "localised": 2, "metastatic": 6},
}


def charlson(params: CharlsonInput) -> CalcResult:
    """Charlson comorbidity index with the age points of Charlson 1994."""
    points = {}
    for name in boolean_fields(params):
        weight = 6 if name == "aids" else 2 if name in _WEIGHT_2 else 1
        points[name] = float(weight * getattr(params, name))
    for name, table in _GRADED.items():
        points[name] = float(table[getattr(params, name)])
    points["age"] = float(min(max(int((params.age - 40) // 10), 0), 4))
    total = int(sum(points.values()))
    return CalcResult(
        calculator="charlson",
        value=total,
        unit="{score}",
        interpretation=f"Charlson comorbidity index {total} (age-adjusted)",
        components=points,
        inputs=params.model_dump(mode="json"),
        warnings=assumed_absent(params, (*boolean_fields(params), *_GRADED)),
        source=CHARLSON_1987.cite(),
    )


_CIWA_ITEMS = (
    "nausea_vomiting", "tremor", "paroxysmal_sweats", "anxiety", "agitation",
    "tactile_disturbances", "auditory_disturbances", "visual_disturbances", "headache",
)  # fmt: skip


class CiwaInput(CalcInput):
    nausea_vomiting: int = Field(ge=0, le=7, description="0-7")
    tremor: int = Field(ge=0, le=7, description="0-7")
    paroxysmal_sweats: int = Field(ge=0, le=7, description="0-7")
    anxiety: int = Field(ge=0, le=7, description="0-7")
    agitation: int = Field(ge=0, le=7, description="0-7")
    tactile_disturbances: int = Field(ge=0, le=7, description="0-7")
    auditory_disturbances: int = Field(ge=0, le=7, description="0-7")
    visual_disturbances: int = Field(ge=0, le=7, description="0-7")
    headache: int = Field(ge=0, le=7, description="0-7")
    orientation: int = Field(ge=0, le=4, description="0-4 (clouding of sensorium)")


def ciwa_ar(params: CiwaInput) -> CalcResult:
    """Sum of ten items: nine scored 0-7, orientation 0-4 (maximum 67) (Sullivan 1989)."""
    points = {name: float(getattr(params, name)) for name in (*_CIWA_ITEMS, "orientation")}
    total = int(sum(points.values()))
    # Sullivan 1989 gives no severity bands; ASAM 2020 (Table 1): mild < 10, moderate 10-18,
    # severe >= 19 (see calculator_verification.yaml).
    band = "mild (< 10)" if total < 10 else "moderate (10-18)" if total <= 18 else "severe (>= 19)"
    return CalcResult(
        calculator="ciwa_ar",
        value=total,
        unit="{score}",
        category=band,
        interpretation=f"CIWA-Ar {total}: {band} alcohol withdrawal (bands: {ASAM_2020})",
        components=points,
        inputs=params.model_dump(mode="json"),
        source=SULLIVAN_1989.cite(),
    )


SEVERITY_CALCULATORS: tuple[Calculator[Any], ...] = (
    Calculator("sofa", "SOFA organ failure score.", SofaInput, sofa, VINCENT_1996),
    Calculator(
        "charlson", "Charlson comorbidity index (age-adjusted).", CharlsonInput, charlson,
        CHARLSON_1987,
    ),
    Calculator("ciwa_ar", "CIWA-Ar alcohol withdrawal score.", CiwaInput, ciwa_ar, SULLIVAN_1989),
)  # fmt: skip
