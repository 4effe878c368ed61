"""Dosing weights: ideal body weight (Devine) and adjusted body weight (40% of the excess).

``dosing_weight`` is what Cockcroft-Gault uses to offer the weight that a drug's label or the
local dosing guidance asks for (actual, ideal or adjusted), and says which one it used.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from tools.calculators.base import CalcInput, CalcResult, Calculator, Source
from tools.units import Sex

DEVINE_1974 = Source(
    authors="Devine BJ",
    title="Gentamicin therapy",
    published="Drug Intell Clin Pharm 8:650-655",
    year=1974,
)
TRAYNOR_1995 = Source(
    authors="Traynor AM, Nafziger AN, Bertino JS Jr",
    title="Aminoglycoside dosing weight correction factors for patients of various body sizes",
    published="Antimicrob Agents Chemother 39:545-548",
    year=1995,
)
# The weight rule MDCalc's creatinine clearance calculator states and MedCalc-Bench (Khandekar
# et al., NeurIPS 2024 datasets track) uses: BMI >= 25 adjusted weight; BMI 18.5-24.9 the lower
# of ideal and actual weight; BMI < 18.5 actual weight.
BMI_RULE = "BMI rule (MDCalc creatinine clearance; MedCalc-Bench 2024)"
_CM_PER_INCH = 2.54
_ADJUSTMENT = 0.4  # Traynor 1995: dosing weight = IBW + 0.4 x (actual - IBW)

WeightBasis = Literal["actual", "ideal", "adjusted", "bmi_rule"]


def ideal_weight_kg(sex: str, height_cm: float) -> float:
    """Devine 1974: 50 kg (men) / 45.5 kg (women) + 2.3 kg per inch over 5 feet."""
    base = 50.0 if sex == "male" else 45.5
    return base + 2.3 * (height_cm / _CM_PER_INCH - 60.0)


def adjusted_weight_kg(sex: str, height_cm: float, weight_kg: float) -> float:
    ideal = ideal_weight_kg(sex, height_cm)
    return ideal + _ADJUSTMENT * (weight_kg - ideal)


def dosing_weight(
    basis: WeightBasis, sex: str, weight_kg: float, height_cm: float | None
) -> tuple[float, str]:
    """(kg, what was used) for the weight basis asked for; height is needed beyond 'actual'."""
    if basis == "actual":
        return weight_kg, "actual body weight"
    if height_cm is None:
        raise ValueError(f"height_cm: needed for weight_basis {basis!r}")
    ideal = ideal_weight_kg(sex, height_cm)
    if basis == "ideal":
        if weight_kg < ideal:
            return weight_kg, "actual body weight (below ideal weight, so actual is used)"
        return ideal, "ideal body weight (Devine)"
    if basis == "adjusted":
        return adjusted_weight_kg(sex, height_cm, weight_kg), _ADJUSTED
    return _by_bmi(sex, weight_kg, height_cm)


_ADJUSTED = "adjusted body weight (IBW + 0.4 x excess)"


def _by_bmi(sex: str, weight_kg: float, height_cm: float) -> tuple[float, str]:
    bmi = weight_kg / (height_cm / 100.0) ** 2
    if bmi >= 25:
        used = adjusted_weight_kg(sex, height_cm, weight_kg)
        return used, f"{_ADJUSTED}, as BMI {bmi:.1f} >= 25 ({BMI_RULE})"
    if bmi >= 18.5:
        used = min(ideal_weight_kg(sex, height_cm), weight_kg)
        return used, f"lower of ideal and actual weight, as BMI {bmi:.1f} is normal ({BMI_RULE})"
    return weight_kg, f"actual body weight, as BMI {bmi:.1f} < 18.5 ({BMI_RULE})"


class HeightSexInput(CalcInput):
    sex: Sex = Field(description="'female' or 'male'")
    height_cm: float = Field(ge=120, le=250, description="height, cm")


def _short_warning(height_cm: float) -> tuple[str, ...]:
    if height_cm < 60 * _CM_PER_INCH:
        return ("Devine's formula is for heights of 5 feet (152.4 cm) and above",)
    return ()


def ideal_body_weight(params: HeightSexInput) -> CalcResult:
    """IBW = 50 (men) or 45.5 (women) + 2.3 kg per inch over 60 inches (Devine 1974)."""
    value = ideal_weight_kg(params.sex, params.height_cm)
    return CalcResult(
        calculator="ideal_body_weight",
        value=round(value, 1),
        unit="kg",
        interpretation=f"ideal body weight {value:.1f} kg (Devine)",
        components={"height_in": round(params.height_cm / _CM_PER_INCH, 2)},
        inputs=params.model_dump(mode="json"),
        warnings=_short_warning(params.height_cm),
        source=DEVINE_1974.cite(),
    )


class AdjustedWeightInput(HeightSexInput):
    weight_kg: float = Field(ge=20, le=350, description="actual body weight, kg")


def adjusted_body_weight(params: AdjustedWeightInput) -> CalcResult:
    """ABW = IBW + 0.4 x (actual - IBW) (Traynor 1995; IBW by Devine 1974)."""
    ideal = ideal_weight_kg(params.sex, params.height_cm)
    value = adjusted_weight_kg(params.sex, params.height_cm, params.weight_kg)
    warnings = list(_short_warning(params.height_cm))
    if params.weight_kg <= ideal:
        warnings.append("actual weight is not above ideal weight: no adjustment is needed")
    return CalcResult(
        calculator="adjusted_body_weight",
        value=round(value, 1),
        unit="kg",
        interpretation=f"adjusted body weight {value:.1f} kg (ideal {ideal:.1f} kg, "
        f"actual {params.weight_kg:g} kg)",
        components={"ideal_body_weight": round(ideal, 1)},
        inputs=params.model_dump(mode="json"),
        warnings=tuple(warnings),
        source=TRAYNOR_1995.cite(),
    )


BODY_WEIGHT_CALCULATORS: tuple[Calculator[Any], ...] = (
    Calculator(
        "ideal_body_weight",
        "Ideal body weight from height and sex (Devine).",
        HeightSexInput,
        ideal_body_weight,
        DEVINE_1974,
    ),
    Calculator(
        "adjusted_body_weight",
        "Adjusted (dosing) body weight: ideal weight + 0.4 x the excess.",
        AdjustedWeightInput,
        adjusted_body_weight,
        TRAYNOR_1995,
    ),
)
