"""Risk scores: HEART (chest pain), Wells DVT, revised cardiac risk index (RCRI)."""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import Field, model_validator

from tools.calculators.base import CalcInput, CalcResult, Calculator, Source
from tools.calculators.criteria import boolean_fields, point_score
from tools.units import (
    CREATININE_MG_DL,
    CreatinineUnit,
)

SIX_2008 = Source(
    authors="Six AJ, Backus BE, Kelder JC",
    title="Chest pain in the emergency room: value of the HEART score",
    published="Neth Heart J 16:191-196",
    year=2008,
)
WELLS_2003 = Source(
    authors="Wells PS, Anderson DR, Rodger M, et al.",
    title="Evaluation of D-dimer in the diagnosis of suspected deep-vein thrombosis",
    published="N Engl J Med 349:1227-1235",
    year=2003,
)
LEE_1999 = Source(
    authors="Lee TH, Marcantonio ER, Mangione CM, et al.",
    title="Derivation and prospective validation of a simple index for prediction of cardiac "
    "risk of major noncardiac surgery",
    published="Circulation 100:1043-1049",
    year=1999,
)


class HeartInput(CalcInput):
    history: Literal["slightly", "moderately", "highly"] = Field(
        description="how suspicious the history is for ACS"
    )
    ecg: Literal["normal", "nonspecific_repolarisation", "significant_st_deviation"]
    age: float = Field(ge=18, le=125, description="age in years")
    troponin: Literal["normal", "1_to_3x", "over_3x"] = Field(
        description="initial troponin against the normal limit"
    )
    hypertension: bool = False
    hypercholesterolaemia: bool = False
    diabetes: bool = False
    obesity: bool = Field(default=False, description="BMI > 30")
    smoking: bool = Field(default=False, description="current or stopped < 3 months")
    family_history: bool = Field(default=False, description="parent or sibling CVD < 65")
    atherosclerotic_disease: bool = Field(
        default=False, description="prior MI, PCI/CABG, stroke/TIA or peripheral arterial disease"
    )


_LEVEL = {"slightly": 0, "moderately": 1, "highly": 2, "normal": 0,
          "nonspecific_repolarisation": 1, "significant_st_deviation": 2,
          "1_to_3x": 1, "over_3x": 2}  # fmt: skip


def heart_score(params: HeartInput) -> CalcResult:
    """History, ECG, Age, Risk factors, Troponin, 0-2 each (Six 2008)."""
    factors = sum(
        getattr(params, name)
        for name in boolean_fields(params)
        if name != "atherosclerotic_disease"
    )
    risk = 2 if params.atherosclerotic_disease or factors >= 3 else 1 if factors else 0
    points = {
        "history": float(_LEVEL[params.history]),
        "ecg": float(_LEVEL[params.ecg]),
        "age": 2.0 if params.age >= 65 else 1.0 if params.age >= 45 else 0.0,
        "risk_factors": float(risk),
        "troponin": float(_LEVEL[params.troponin]),
    }
    total = int(sum(points.values()))
    # Six 2008: 0-3 MACE 2.5%, 4-6 20.3%, 7-10 72.7% at 6 weeks.
    band = "low (0-3)" if total <= 3 else "moderate (4-6)" if total <= 6 else "high (7-10)"
    return point_score(
        "heart_score", params, points, SIX_2008, category=band,
        interpretation=f"HEART {total}: {band} risk of a major adverse cardiac event at 6 weeks "
        "(Six 2008: 2.5%, 20.3%, 72.7% by band)",
    )  # fmt: skip


class WellsDvtInput(CalcInput):
    active_cancer: bool = Field(default=False, description="treatment within 6 months/palliative")
    bedridden_3_days: bool = Field(default=False, description="bedridden recently > 3 days")
    major_surgery_12_weeks: bool = Field(default=False, description="within 12 weeks")
    calf_swelling_over_3cm: bool = Field(default=False, description="vs the other leg")
    collateral_superficial_veins: bool = Field(default=False, description="non-varicose")
    entire_leg_swollen: bool = False
    localised_tenderness: bool = Field(default=False, description="along the deep veins")
    pitting_oedema: bool = Field(default=False, description="confined to the symptomatic leg")
    paralysis_or_plaster: bool = Field(default=False, description="paresis or recent cast")
    previous_dvt: bool = False
    alternative_diagnosis_as_likely: bool = Field(default=False, description="scores -2")


def wells_dvt(params: WellsDvtInput) -> CalcResult:
    """One point per criterion, -2 for an alternative diagnosis (Wells 2003, with previous DVT).

    Bedridden > 3 days and major surgery within 12 weeks are one criterion (one point).
    """
    points = {name: float(getattr(params, name)) for name in boolean_fields(params)}
    bedridden, surgery = points.pop("bedridden_3_days"), points.pop("major_surgery_12_weeks")
    points["bedridden_or_surgery"] = float(bool(bedridden or surgery))
    points["alternative_diagnosis_as_likely"] *= -2.0
    total = int(sum(points.values()))
    likely = total >= 2
    return point_score(
        "wells_dvt", params, points, WELLS_2003,
        category="DVT likely" if likely else "DVT unlikely",
        interpretation=f"Wells DVT {total}: "
        + ("DVT likely (>= 2): ultrasound" if likely else "DVT unlikely (< 2): D-dimer first"),
    )  # fmt: skip


class RcriInput(CalcInput):
    high_risk_surgery: bool = Field(
        default=False, description="intraperitoneal, intrathoracic or suprainguinal vascular"
    )
    ischaemic_heart_disease: bool = False
    heart_failure: bool = False
    cerebrovascular_disease: bool = Field(default=False, description="stroke or TIA")
    insulin: bool = Field(default=False, description="preoperative treatment with insulin")
    creatinine: float = Field(gt=0, description="preoperative serum creatinine")
    creatinine_unit: CreatinineUnit = Field(default="mg/dL", description="'mg/dL' or 'umol/L'")

    @model_validator(mode="after")
    def _plausible(self) -> Self:
        CREATININE_MG_DL.to_canonical(self.creatinine, self.creatinine_unit, "creatinine")
        return self


# Lee 1999 validation cohort, major cardiac complications by class: 0.4%, 0.9%, 6.6%, 11%.
_RCRI_RISK = ("0.4%", "0.9%", "6.6%", "11%")


def revised_cardiac_risk_index(params: RcriInput) -> CalcResult:
    """One point each; creatinine > 2.0 mg/dL (177 umol/L) (Lee 1999)."""
    points = {name: float(getattr(params, name)) for name in boolean_fields(params)}
    creatinine = CREATININE_MG_DL.to_canonical(
        params.creatinine, params.creatinine_unit, "creatinine"
    )
    points["creatinine_over_2"] = float(creatinine > 2.0)
    total = int(sum(points.values()))
    risk = _RCRI_RISK[min(total, 3)]
    note = CREATININE_MG_DL.conversion_note(params.creatinine, params.creatinine_unit, "creatinine")
    return point_score(
        "revised_cardiac_risk_index", params, points, LEE_1999,
        category=f"class {('I', 'II', 'III', 'IV')[min(total, 3)]}",
        interpretation=f"RCRI {total}: major cardiac complications {risk} in the validation "
        "cohort (Lee 1999)",
        conversions=(note,) if note else (),
    )  # fmt: skip


RISK_CALCULATORS: tuple[Calculator[Any], ...] = (
    Calculator("heart_score", "HEART score for chest pain.", HeartInput, heart_score, SIX_2008),
    Calculator(
        "wells_dvt", "Wells score for deep vein thrombosis.", WellsDvtInput, wells_dvt, WELLS_2003
    ),
    Calculator(
        "revised_cardiac_risk_index",
        "Revised cardiac risk index (Lee) before noncardiac surgery.",
        RcriInput,
        revised_cardiac_risk_index,
        LEE_1999,
    ),
)
