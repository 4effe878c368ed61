"""Venous thromboembolism risk in hospital: Padua (medical) and Caprini (surgical) scores."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from tools.calculators.base import CalcInput, CalcResult, Calculator, Source
from tools.calculators.criteria import point_score, weighted_points

BARBAR_2010 = Source(
    authors="Barbar S, Noventa F, Rossetto V, et al.",
    title="A risk assessment model for the identification of hospitalized medical patients at "
    "risk for venous thromboembolism: the Padua Prediction Score",
    published="J Thromb Haemost 8:2450-2457",
    year=2010,
)
CAPRINI_2005 = Source(
    authors="Caprini JA",
    title="Thrombosis risk assessment as a guide to quality patient care",
    published="Dis Mon 51:70-78",
    year=2005,
)
# Barbar 2010, Table 1: points per risk factor.
_PADUA = {
    "active_cancer": 3, "previous_vte": 3, "reduced_mobility": 3, "thrombophilia": 3,
    "recent_trauma_or_surgery": 2, "heart_or_respiratory_failure": 1,
    "acute_mi_or_ischaemic_stroke": 1, "acute_infection_or_rheumatological": 1,
    "obesity": 1, "hormonal_treatment": 1,
}  # fmt: skip


class PaduaInput(CalcInput):
    age: float = Field(ge=18, le=125, description="age in years (>= 70 scores 1)")
    active_cancer: bool = Field(default=False, description="metastases or chemo/radiotherapy <6 mo")
    previous_vte: bool = Field(default=False, description="previous VTE, not superficial")
    reduced_mobility: bool = Field(default=False, description="bed rest >= 3 days expected")
    thrombophilia: bool = Field(default=False, description="a known thrombophilic condition")
    recent_trauma_or_surgery: bool = Field(default=False, description="within 1 month")
    heart_or_respiratory_failure: bool = False
    acute_mi_or_ischaemic_stroke: bool = False
    acute_infection_or_rheumatological: bool = False
    obesity: bool = Field(default=False, description="BMI >= 30")
    hormonal_treatment: bool = Field(default=False, description="ongoing hormonal treatment")


def padua(params: PaduaInput) -> CalcResult:
    """Sum of Barbar 2010's points; age >= 70 scores 1; >= 4 is high risk."""
    points = weighted_points(params, _PADUA)
    points["age_70_or_over"] = float(params.age >= 70)
    total = int(sum(points.values()))
    high = total >= 4
    return point_score(
        "padua", params, points, BARBAR_2010, category="high risk" if high else "low risk",
        interpretation=f"Padua {total}: {'high' if high else 'low'} VTE risk"
        + (": consider pharmacological prophylaxis unless bleeding risk forbids" if high else ""),
    )  # fmt: skip


Surgery = Literal["none", "minor", "major", "arthroplasty"]
Mobility = Literal["normal", "bed_rest", "confined_over_72h"]
# Caprini 2005 points (the score sheet): each yes/no criterion, surgery type and mobility.
_CAPRINI = {
    "major_surgery_last_month": 1, "heart_failure_last_month": 1, "sepsis_last_month": 1,
    "pneumonia_last_month": 1, "plaster_cast_last_month": 2, "fracture_hip_pelvis_leg": 5,
    "stroke_last_month": 5, "multiple_trauma_last_month": 5, "spinal_cord_injury_paralysis": 5,
    "varicose_veins": 1, "swollen_legs": 1, "central_venous_access": 2,
    "previous_dvt_or_pe": 3, "family_history_thrombosis": 3, "factor_v_leiden": 3,
    "prothrombin_20210a": 3, "raised_homocysteine": 3, "lupus_anticoagulant": 3,
    "anticardiolipin_antibody": 3, "heparin_induced_thrombocytopenia": 3,
    "other_thrombophilia": 3, "inflammatory_bowel_disease": 1, "bmi_over_25": 1,
    "acute_mi": 1, "copd": 1, "malignancy": 2,
}  # fmt: skip
_SURGERY = {"none": 0, "minor": 1, "major": 2, "arthroplasty": 5}
_MOBILITY = {"normal": 0, "bed_rest": 1, "confined_over_72h": 2}


class CapriniInput(CalcInput):
    age: float = Field(ge=18, le=125, description="41-60: 1, 61-74: 2, >= 75: 3")
    surgery: Surgery = Field(
        default="none",
        description="'minor', 'major' (> 45 min, incl. laparoscopic/arthroscopic) or "
        "'arthroplasty' (elective major lower-limb)",
    )
    mobility: Mobility = Field(default="normal", description="'bed_rest', 'confined_over_72h'")
    major_surgery_last_month: bool = False
    heart_failure_last_month: bool = False
    sepsis_last_month: bool = False
    pneumonia_last_month: bool = False
    plaster_cast_last_month: bool = False
    fracture_hip_pelvis_leg: bool = Field(default=False, description="within 1 month")
    stroke_last_month: bool = False
    multiple_trauma_last_month: bool = False
    spinal_cord_injury_paralysis: bool = Field(default=False, description="within 1 month")
    varicose_veins: bool = False
    swollen_legs: bool = Field(default=False, description="currently")
    central_venous_access: bool = Field(default=False, description="currently")
    previous_dvt_or_pe: bool = False
    family_history_thrombosis: bool = False
    factor_v_leiden: bool = False
    prothrombin_20210a: bool = False
    raised_homocysteine: bool = False
    lupus_anticoagulant: bool = False
    anticardiolipin_antibody: bool = False
    heparin_induced_thrombocytopenia: bool = False
    other_thrombophilia: bool = False
    inflammatory_bowel_disease: bool = False
    bmi_over_25: bool = False
    acute_mi: bool = False
    copd: bool = False
    malignancy: bool = Field(default=False, description="present or previous")


def caprini(params: CapriniInput) -> CalcResult:
    """Sum of the Caprini 2005 score sheet's points."""
    age = params.age
    points = weighted_points(params, _CAPRINI)
    points["age"] = 3.0 if age >= 75 else 2.0 if age >= 61 else 1.0 if age >= 41 else 0.0
    points["surgery"] = float(_SURGERY[params.surgery])
    points["mobility"] = float(_MOBILITY[params.mobility])
    total = int(sum(points.values()))
    # Risk bands as used by Gould MK et al., ACCP 9th ed. Chest 2012;141:e227S, Table 6.
    band = (
        "very low (0)" if total == 0 else "low (1-2)" if total <= 2
        else "moderate (3-4)" if total <= 4 else "high (>= 5)"
    )  # fmt: skip
    return point_score(
        "caprini", params, points, CAPRINI_2005, category=band,
        interpretation=f"Caprini {total}: {band} VTE risk after surgery (ACCP 2012 bands)",
    )  # fmt: skip


VTE_CALCULATORS: tuple[Calculator[Any], ...] = (
    Calculator(
        "padua", "Padua score: VTE risk in medical inpatients.", PaduaInput, padua, BARBAR_2010
    ),
    Calculator(
        "caprini",
        "Caprini score: VTE risk in surgical patients.",
        CapriniInput,
        caprini,
        CAPRINI_2005,
    ),
)
