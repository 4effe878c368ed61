"""Kidney function: eGFR (CKD-EPI 2021, race-free; MDRD), Cockcroft-Gault creatinine clearance."""

from __future__ import annotations

from typing import Any, Self

from pydantic import Field, model_validator

from tools.calculators.base import CalcInput, CalcResult, Calculator, Source
from tools.calculators.body_weight import WeightBasis, dosing_weight
from tools.units import CREATININE_MG_DL, CreatinineUnit, Sex

CKD_EPI_2021 = Source(
    authors="Inker LA, Eneanya ND, Coresh J, et al. (CKD-EPI)",
    title="New creatinine- and cystatin C-based equations to estimate GFR without race",
    published="N Engl J Med 385:1737-1749",
    year=2021,
)
COCKCROFT_GAULT = Source(
    authors="Cockcroft DW, Gault MH",
    title="Prediction of creatinine clearance from serum creatinine",
    published="Nephron 16:31-41",
    year=1976,
)
LEVEY_MDRD_2006 = Source(
    authors="Levey AS, Coresh J, Greene T, et al.",
    title="Using standardized serum creatinine values in the Modification of Diet in Renal "
    "Disease study equation for estimating glomerular filtration rate",
    published="Ann Intern Med 145:247-254",
    year=2006,
)
KDIGO_CKD_2012 = "KDIGO 2012 CKD guideline, Kidney Int Suppl 3:1-150 (2013), ch. 1.2 GFR categories"

# (lower bound mL/min/1.73 m2, category, meaning): KDIGO 2012 CKD guideline, ch. 1.2.
_GFR_CATEGORIES = (
    (90.0, "G1", "normal or high"),
    (60.0, "G2", "mildly decreased"),
    (45.0, "G3a", "mildly to moderately decreased"),
    (30.0, "G3b", "moderately to severely decreased"),
    (15.0, "G4", "severely decreased"),
    (0.0, "G5", "kidney failure range"),
)


class CreatinineInput(CalcInput):
    creatinine: float = Field(gt=0, description="serum creatinine (IDMS-traceable assay)")
    creatinine_unit: CreatinineUnit = Field(default="mg/dL", description="'mg/dL' or 'umol/L'")

    @model_validator(mode="after")
    def _plausible_creatinine(self) -> Self:
        self.creatinine_mg_dl()
        return self

    def creatinine_mg_dl(self) -> float:
        return CREATININE_MG_DL.to_canonical(self.creatinine, self.creatinine_unit, "creatinine")

    def conversions(self) -> tuple[str, ...]:
        note = CREATININE_MG_DL.conversion_note(self.creatinine, self.creatinine_unit, "creatinine")
        return (note,) if note else ()


class EgfrInput(CreatinineInput):
    """Inputs of the CKD-EPI 2021 creatinine equation (adults, stable creatinine)."""

    age: float = Field(ge=18, le=125, description="age in years; the equation is for adults")
    sex: Sex = Field(description="'female' or 'male' (sex used by the equation)")


def egfr_ckd_epi_2021(params: EgfrInput) -> CalcResult:
    """eGFR = 142 x min(Scr/k,1)^a x max(Scr/k,1)^-1.200 x 0.9938^age [x 1.012 female].

    k = 0.7 (F) / 0.9 (M); a = -0.241 (F) / -0.302 (M): Inker et al., NEJM 2021, Table 1.
    """
    female = params.sex == "female"
    kappa, alpha, sex_factor = (0.7, -0.241, 1.012) if female else (0.9, -0.302, 1.0)
    ratio = params.creatinine_mg_dl() / kappa
    egfr = (
        142.0
        * min(ratio, 1.0) ** alpha
        * max(ratio, 1.0) ** -1.200
        * 0.9938**params.age
        * sex_factor
    )
    value = round(egfr)  # reported as a whole number (NKF-ASN laboratory guidance)
    category, meaning = next((c, m) for low, c, m in _GFR_CATEGORIES if value >= low)
    return CalcResult(
        calculator="egfr_ckd_epi_2021",
        value=value,
        unit="mL/min/{1.73_m2}",
        category=category,
        interpretation=f"GFR category {category} ({meaning}); {KDIGO_CKD_2012}",
        components={"egfr_unrounded": round(egfr, 2)},
        inputs=params.model_dump(mode="json"),
        conversions=params.conversions(),
        warnings=(
            "valid only at steady state: in AKI a single creatinine overestimates GFR",
            "CKD needs eGFR <60 for >3 months or markers of kidney damage (KDIGO 2012)",
        ),
        source=CKD_EPI_2021.cite(),
    )


class CockcroftGaultInput(CreatinineInput):
    """Inputs of the Cockcroft-Gault equation (the clearance many drug labels dose by)."""

    age: float = Field(ge=18, le=125, description="age in years")
    sex: Sex = Field(description="'female' or 'male'")
    weight_kg: float = Field(gt=20, le=350, description="actual body weight, kg")
    height_cm: float | None = Field(
        default=None, ge=120, le=250, description="height, cm (needed unless weight is actual)"
    )
    weight_basis: WeightBasis = Field(
        default="actual",
        description="'actual' (as in the 1976 paper), 'ideal' (Devine; actual if lower), "
        "'adjusted' (IBW + 0.4 x excess) or 'bmi_rule' (adjusted if BMI >= 25, the lower of "
        "ideal and actual if normal, actual if underweight): use what the drug's guidance asks",
    )

    @model_validator(mode="after")
    def _height_when_needed(self) -> Self:
        if self.weight_basis != "actual" and self.height_cm is None:
            raise ValueError(f"height_cm: needed for weight_basis {self.weight_basis!r}")
        return self


def cockcroft_gault(params: CockcroftGaultInput) -> CalcResult:
    """CrCl (mL/min) = (140 - age) x weight / (72 x Scr mg/dL), x 0.85 if female (1976).

    The weight is the one ``weight_basis`` asks for; the result says which was used.
    """
    weight, weight_used = dosing_weight(
        params.weight_basis, params.sex, params.weight_kg, params.height_cm
    )
    clearance = (140.0 - params.age) * weight / (72.0 * params.creatinine_mg_dl())
    if params.sex == "female":
        clearance *= 0.85  # Cockcroft & Gault 1976: female estimate 15% lower
    value = round(clearance)
    return CalcResult(
        calculator="cockcroft_gault",
        value=value,
        unit="mL/min",
        category=_clearance_band(value),
        interpretation=(
            f"estimated creatinine clearance with {weight_used}, {weight:.1f} kg; not indexed "
            "to body surface area; dose by the band the drug's label defines"
        ),
        components={"clearance_unrounded": round(clearance, 2), "weight_used_kg": round(weight, 2)},
        inputs=params.model_dump(mode="json"),
        conversions=params.conversions(),
        warnings=(
            *(_OBESITY_NOTE if params.weight_basis == "actual" else ()),
            "invalid when creatinine is not at steady state (AKI)",
        ),
        source=COCKCROFT_GAULT.cite(),
    )


_OBESITY_NOTE = ("actual body weight overestimates clearance in obesity: see weight_basis",)
_RACE_NOTE = ("the race coefficient is not recommended (NKF-ASN Task Force 2021)",)


class MdrdInput(CreatinineInput):
    """Inputs of the 4-variable MDRD study equation (IDMS-traceable creatinine, 175)."""

    age: float = Field(ge=18, le=125, description="age in years")
    sex: Sex = Field(description="'female' or 'male'")
    black: bool = Field(
        default=False, description="the equation's race coefficient (x 1.212); see warnings"
    )


def egfr_mdrd(params: MdrdInput) -> CalcResult:
    """eGFR = 175 x Scr^-1.154 x age^-0.203 x 0.742 (female) x 1.212 (Black) (Levey 2006)."""
    egfr = 175.0 * params.creatinine_mg_dl() ** -1.154 * params.age**-0.203
    if params.sex == "female":
        egfr *= 0.742
    if params.black:
        egfr *= 1.212
    value = round(egfr, 1)
    category, meaning = next((c, m) for low, c, m in _GFR_CATEGORIES if value >= low)
    return CalcResult(
        calculator="egfr_mdrd",
        value=value,
        unit="mL/min/{1.73_m2}",
        category=category,
        interpretation=f"GFR category {category} ({meaning}); {KDIGO_CKD_2012}",
        inputs=params.model_dump(mode="json"),
        conversions=params.conversions(),
        warnings=(
            "underestimates GFR above 60; CKD-EPI 2021 (race-free) is the recommended equation "
            "(NKF-ASN Task Force 2021)",
            *(_RACE_NOTE if params.black else ()),
        ),
        source=LEVEY_MDRD_2006.cite(),
    )


def _clearance_band(value: float) -> str:
    # Bands used by drug labelling guidance (FDA 2020 renal impairment guidance, Table 1).
    if value >= 90:
        return "normal (>=90)"
    if value >= 60:
        return "mild (60-89)"
    if value >= 30:
        return "moderate (30-59)"
    if value >= 15:
        return "severe (15-29)"
    return "kidney failure (<15)"


RENAL_CALCULATORS: tuple[Calculator[Any], ...] = (
    Calculator(
        name="egfr_ckd_epi_2021",
        description="Estimated GFR from serum creatinine, age and sex (CKD-EPI 2021, race-free).",
        input_model=EgfrInput,
        function=egfr_ckd_epi_2021,
        source=CKD_EPI_2021,
    ),
    Calculator(
        name="cockcroft_gault",
        description="Creatinine clearance (mL/min) by Cockcroft-Gault, for drug dosing.",
        input_model=CockcroftGaultInput,
        function=cockcroft_gault,
        source=COCKCROFT_GAULT,
    ),
    Calculator(
        name="egfr_mdrd",
        description="Estimated GFR by the 4-variable MDRD study equation (IDMS, 175).",
        input_model=MdrdInput,
        function=egfr_mdrd,
        source=LEVEY_MDRD_2006,
    ),
)
