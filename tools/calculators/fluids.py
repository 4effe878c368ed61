"""Circulation and water: mean arterial pressure, maintenance fluid rate, free water deficit."""

from __future__ import annotations

from typing import Any, Self

from pydantic import Field, model_validator

from tools.calculators.base import CalcInput, CalcResult, Calculator, Source
from tools.units import Sex

MAP_STATPEARLS = Source(
    authors="DeMers D, Wachs D",
    title="Physiology, Mean Arterial Pressure",
    published="StatPearls (NCBI Bookshelf NBK538226): MAP = DBP + 1/3 (SBP - DBP)",
    year=2023,
)
HOLLIDAY_SEGAR_1957 = Source(
    authors="Holliday MA, Segar WE",
    title="The maintenance need for water in parenteral fluid therapy",
    published="Pediatrics 19:823-832",
    year=1957,
)
ADROGUE_MADIAS_2000 = Source(
    authors="Adrogue HJ, Madias NE",
    title="Hypernatremia",
    published="N Engl J Med 342:1493-1499",
    year=2000,
)
# MAP below 65 mmHg: the vasopressor target in septic shock (Surviving Sepsis Campaign 2021,
# Evans L et al., Crit Care Med 2021;49:e1063-e1143, recommendation 34).
_MAP_TARGET = 65.0


class BloodPressureInput(CalcInput):
    systolic_bp: float = Field(ge=30, le=300, description="systolic blood pressure, mmHg")
    diastolic_bp: float = Field(ge=10, le=200, description="diastolic blood pressure, mmHg")

    @model_validator(mode="after")
    def _systolic_above_diastolic(self) -> Self:
        if self.diastolic_bp >= self.systolic_bp:
            raise ValueError("diastolic_bp must be lower than systolic_bp")
        return self


def mean_arterial_pressure(params: BloodPressureInput) -> CalcResult:
    """MAP = DBP + (SBP - DBP) / 3 = (2 x DBP + SBP) / 3 (DeMers & Wachs, StatPearls)."""
    value = params.diastolic_bp + (params.systolic_bp - params.diastolic_bp) / 3.0
    low = value < _MAP_TARGET
    return CalcResult(
        calculator="mean_arterial_pressure",
        value=round(value, 1),
        unit="mm[Hg]",
        category="below 65" if low else "65 or above",
        interpretation=f"MAP {value:.0f} mmHg"
        + ("; below the 65 mmHg target in shock (Surviving Sepsis Campaign 2021)" if low else ""),
        components={"pulse_pressure": params.systolic_bp - params.diastolic_bp},
        inputs=params.model_dump(mode="json"),
        warnings=("an estimate from cuff pressures; an arterial line measures MAP directly",),
        source=MAP_STATPEARLS.cite(),
    )


class WeightInput(CalcInput):
    weight_kg: float = Field(gt=0.5, le=350, description="body weight, kg")


def maintenance_fluids(params: WeightInput) -> CalcResult:
    """4 mL/kg/h for the first 10 kg, 2 for the next 10, 1 for each kg above 20 (4-2-1 rule).

    Holliday & Segar 1957 (100/50/20 mL/kg/day), the hourly form as taught.
    """
    w = params.weight_kg
    rate = 4.0 * min(w, 10.0) + 2.0 * min(max(w - 10.0, 0.0), 10.0) + max(w - 20.0, 0.0)
    return CalcResult(
        calculator="maintenance_fluids",
        value=round(rate, 1),
        unit="mL/h",
        interpretation=f"maintenance fluid {rate:.0f} mL/h ({rate * 24:.0f} mL/day) by the "
        "Holliday-Segar 4-2-1 rule",
        components={"per_day_ml": round(rate * 24, 0)},
        inputs=params.model_dump(mode="json"),
        warnings=(
            "derived for children; NICE CG174 starts adults at 25-30 mL/kg/day of water",
            "does not cover deficits or ongoing losses",
        ),
        source=HOLLIDAY_SEGAR_1957.cite(),
    )


class FreeWaterInput(WeightInput):
    sodium: float = Field(ge=100, le=200, description="serum sodium, mmol/L (= mEq/L)")
    age: float = Field(ge=0, le=125, description="age in years (child < 18, elderly >= 65)")
    sex: Sex = Field(description="'female' or 'male'")
    target_sodium: float = Field(default=140, ge=130, le=150, description="mmol/L")


def _water_fraction(age: float, sex: str) -> tuple[float, str]:
    # Total body water as a fraction of weight: Adrogue & Madias 2000 (children 0.6; men 0.6,
    # women 0.5; elderly men 0.5, elderly women 0.45).
    if age < 18:
        return 0.6, "child"
    if age >= 65:
        return (0.5, "elderly man") if sex == "male" else (0.45, "elderly woman")
    return (0.6, "man") if sex == "male" else (0.5, "woman")


def free_water_deficit(params: FreeWaterInput) -> CalcResult:
    """Deficit (L) = TBW x (Na / 140 - 1), TBW = fraction x weight (Adrogue & Madias 2000)."""
    fraction, group = _water_fraction(params.age, params.sex)
    tbw = fraction * params.weight_kg
    deficit = tbw * (params.sodium / params.target_sodium - 1.0)
    return CalcResult(
        calculator="free_water_deficit",
        value=round(deficit, 2),
        unit="L",
        category="deficit" if deficit > 0 else "no deficit",
        interpretation=(
            f"free water deficit {deficit:.1f} L (total body water {tbw:.1f} L, {group})"
            if deficit > 0
            else f"sodium {params.sodium:g} is not above {params.target_sodium:g}: no free "
            "water deficit"
        ),
        components={"total_body_water_l": round(tbw, 2), "water_fraction": fraction},
        inputs=params.model_dump(mode="json"),
        warnings=(
            "add ongoing losses; in chronic hypernatraemia lower sodium by no more than "
            "10 mmol/L in 24 hours (Adrogue & Madias 2000)",
        ),
        source=ADROGUE_MADIAS_2000.cite(),
    )


FLUID_CALCULATORS: tuple[Calculator[Any], ...] = (
    Calculator(
        "mean_arterial_pressure",
        "Mean arterial pressure from systolic and diastolic blood pressure.",
        BloodPressureInput,
        mean_arterial_pressure,
        MAP_STATPEARLS,
    ),
    Calculator(
        "maintenance_fluids",
        "Maintenance fluid rate by weight (Holliday-Segar 4-2-1 rule).",
        WeightInput,
        maintenance_fluids,
        HOLLIDAY_SEGAR_1957,
    ),
    Calculator(
        "free_water_deficit",
        "Free water deficit in hypernatraemia from sodium, weight, age and sex.",
        FreeWaterInput,
        free_water_deficit,
        ADROGUE_MADIAS_2000,
    ),
)
