"""Body size and blood count: BMI, body surface area (Mosteller, Du Bois), neutrophil count."""

from __future__ import annotations

from math import sqrt
from typing import Any, Literal, Self

from pydantic import Field, model_validator

from tools.calculators.base import CalcInput, CalcResult, Calculator, Source

WHO_BMI_2000 = Source(
    authors="World Health Organization",
    title="Obesity: preventing and managing the global epidemic",
    published="WHO Technical Report Series 894, Table 2.1 (BMI classification)",
    year=2000,
)
MOSTELLER_1987 = Source(
    authors="Mosteller RD",
    title="Simplified calculation of body-surface area",
    published="N Engl J Med 317:1098",
    year=1987,
)
DU_BOIS_1916 = Source(
    authors="Du Bois D, Du Bois EF",
    title="A formula to estimate the approximate surface area if height and weight be known",
    published="Arch Intern Med 17:863-871",
    year=1916,
)
CTCAE_5 = Source(
    authors="US National Cancer Institute",
    title="Common Terminology Criteria for Adverse Events (CTCAE) v5.0",
    published="Investigations: neutrophil count decreased",
    year=2017,
)

# (upper bound exclusive, class): WHO 2000, Table 2.1.
_BMI_CLASSES = (
    (18.5, "underweight"),
    (25.0, "normal range"),
    (30.0, "pre-obese"),
    (35.0, "obese class I"),
    (40.0, "obese class II"),
    (float("inf"), "obese class III"),
)


class BodySizeInput(CalcInput):
    weight_kg: float = Field(ge=0.3, le=400, description="body weight, kg")
    height_cm: float = Field(ge=30, le=250, description="height, cm")


def bmi(params: BodySizeInput) -> CalcResult:
    """BMI = weight (kg) / height (m)^2."""
    value = params.weight_kg / (params.height_cm / 100.0) ** 2
    category = next(name for upper, name in _BMI_CLASSES if value < upper)
    return CalcResult(
        calculator="bmi",
        value=round(value, 1),
        unit="kg/m2",
        category=category,
        interpretation=f"BMI {value:.1f} kg/m2: {category} (WHO adult classification)",
        inputs=params.model_dump(mode="json"),
        warnings=("adult classification; not for children or pregnancy",),
        source=WHO_BMI_2000.cite(),
    )


def bsa_mosteller(params: BodySizeInput) -> CalcResult:
    """BSA (m2) = sqrt(height cm x weight kg / 3600) (Mosteller 1987)."""
    value = sqrt(params.height_cm * params.weight_kg / 3600.0)
    return CalcResult(
        calculator="bsa_mosteller",
        value=round(value, 2),
        unit="m2",
        interpretation=f"body surface area {value:.2f} m2 (Mosteller)",
        inputs=params.model_dump(mode="json"),
        source=MOSTELLER_1987.cite(),
    )


def bsa_du_bois(params: BodySizeInput) -> CalcResult:
    """BSA (m2) = 0.007184 x weight^0.425 x height^0.725 (Du Bois 1916; kg, cm)."""
    value = 0.007184 * params.weight_kg**0.425 * params.height_cm**0.725
    return CalcResult(
        calculator="bsa_du_bois",
        value=round(value, 2),
        unit="m2",
        interpretation=f"body surface area {value:.2f} m2 (Du Bois)",
        inputs=params.model_dump(mode="json"),
        source=DU_BOIS_1916.cite(),
    )


class AncInput(CalcInput):
    wbc: float = Field(ge=0, description="white cell count")
    wbc_unit: Literal["10*9/L", "/uL"] = Field(
        default="10*9/L", description="'10*9/L' (= 10^3/uL) or '/uL' (cells per microlitre)"
    )
    neutrophils_percent: float = Field(ge=0, le=100, description="segmented neutrophils, %")
    bands_percent: float = Field(default=0, ge=0, le=100, description="band forms, %")

    @model_validator(mode="after")
    def _plausible(self) -> Self:
        if self.wbc_10e9_l() > 500:  # plausibility, not a reference range
            raise ValueError(f"wbc {self.wbc:g} {self.wbc_unit} is not plausible; check the unit")
        if self.neutrophils_percent + self.bands_percent > 100:
            raise ValueError("neutrophils_percent + bands_percent exceeds 100")
        return self

    def wbc_10e9_l(self) -> float:
        return self.wbc / 1000.0 if self.wbc_unit == "/uL" else self.wbc  # 1 /uL = 10^6 /L


def anc(params: AncInput) -> CalcResult:
    """ANC = WBC x (neutrophils % + bands %) / 100."""
    wbc = params.wbc_10e9_l()
    value = wbc * (params.neutrophils_percent + params.bands_percent) / 100.0
    # CTCAE v5.0 grades of decreased neutrophil count (x 10^9/L).
    if value < 0.5:
        grade = "grade 4 (< 0.5): severe neutropenia"
    elif value < 1.0:
        grade = "grade 3 (0.5-<1.0)"
    elif value < 1.5:
        grade = "grade 2 (1.0-<1.5)"
    else:
        grade = "not neutropenic by CTCAE grade 2-4 (>= 1.5)"
    return CalcResult(
        calculator="anc",
        value=round(value, 2),
        unit="10*9/L",
        category=grade.split(" (")[0],
        interpretation=f"absolute neutrophil count {value:.2f} x 10^9/L: {grade}",
        inputs=params.model_dump(mode="json"),
        conversions=(f"wbc {params.wbc:g} /uL = {wbc:g} 10*9/L",)
        if params.wbc_unit == "/uL"
        else (),
        source=CTCAE_5.cite(),
    )


BODY_CALCULATORS: tuple[Calculator[Any], ...] = (
    Calculator("bmi", "Body mass index (kg/m2) and WHO class.", BodySizeInput, bmi, WHO_BMI_2000),
    Calculator(
        "bsa_mosteller",
        "Body surface area (m2), Mosteller formula.",
        BodySizeInput,
        bsa_mosteller,
        MOSTELLER_1987,
    ),
    Calculator(
        "bsa_du_bois",
        "Body surface area (m2), Du Bois formula.",
        BodySizeInput,
        bsa_du_bois,
        DU_BOIS_1916,
    ),
    Calculator(
        "anc",
        "Absolute neutrophil count from white count and differential, with CTCAE grade.",
        AncInput,
        anc,
        CTCAE_5,
    ),
)
