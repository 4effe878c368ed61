"""LDL cholesterol by the Friedewald equation."""

from __future__ import annotations

from typing import Any, Self

from pydantic import Field, model_validator

from core.errors import InvalidInput
from tools.calculators.base import CalcInput, CalcResult, Calculator, Source
from tools.units import CHOLESTEROL_MG_DL, HDL_MG_DL, TRIGLYCERIDES_MG_DL, LipidUnit, convert

FRIEDEWALD_1972 = Source(
    authors="Friedewald WT, Levy RI, Fredrickson DS",
    title="Estimation of the concentration of low-density lipoprotein cholesterol in plasma, "
    "without use of the preparative ultracentrifuge",
    published="Clin Chem 18:499-502",
    year=1972,
)
# Friedewald 1972: not valid with triglycerides above 400 mg/dL (4.5 mmol/L).
_TG_LIMIT_MG_DL = 400.0


class LipidInput(CalcInput):
    total_cholesterol: float = Field(gt=0, description="total cholesterol")
    hdl_cholesterol: float = Field(gt=0, description="HDL cholesterol")
    triglycerides: float = Field(gt=0, description="triglycerides (fasting)")
    unit: LipidUnit = Field(default="mmol/L", description="'mmol/L' or 'mg/dL', for all three")

    def mg_dl(self) -> tuple[float, float, float]:
        return (
            CHOLESTEROL_MG_DL.to_canonical(self.total_cholesterol, self.unit, "total_cholesterol"),
            HDL_MG_DL.to_canonical(self.hdl_cholesterol, self.unit, "hdl_cholesterol"),
            TRIGLYCERIDES_MG_DL.to_canonical(self.triglycerides, self.unit, "triglycerides"),
        )

    @model_validator(mode="after")
    def _valid_for_friedewald(self) -> Self:
        total, hdl, tg = self.mg_dl()
        if tg > _TG_LIMIT_MG_DL:
            raise ValueError(
                f"triglycerides {self.triglycerides:g} {self.unit} is above 400 mg/dL "
                "(4.5 mmol/L), where the Friedewald equation is not valid: measure LDL directly"
            )
        if hdl >= total:
            raise ValueError("hdl_cholesterol must be lower than total_cholesterol")
        return self


def ldl_friedewald(params: LipidInput) -> CalcResult:
    """LDL = total - HDL - TG / 5, all mg/dL (TG / 2.2 in mmol/L) (Friedewald 1972)."""
    total, hdl, tg = params.mg_dl()
    ldl = total - hdl - tg / 5.0
    if ldl <= 0:
        raise InvalidInput("ldl_friedewald: the inputs give no LDL (<= 0): check them")
    shown = ldl if params.unit == "mg/dL" else convert(ldl, "mg/dL", "mmol/L", "13457-7")
    return CalcResult(
        calculator="ldl_friedewald",
        value=round(shown, 2 if params.unit == "mmol/L" else 1),
        unit=params.unit,
        interpretation=f"LDL cholesterol {shown:.2f} {params.unit} (Friedewald)",
        components={"ldl_mg_dl": round(ldl, 1), "vldl_mg_dl": round(tg / 5.0, 1)},
        inputs=params.model_dump(mode="json"),
        warnings=("fasting sample assumed; underestimates LDL when LDL is low and TG high",),
        source=FRIEDEWALD_1972.cite(),
    )


LIPID_CALCULATORS: tuple[Calculator[Any], ...] = (
    Calculator(
        "ldl_friedewald",
        "LDL cholesterol from total and HDL cholesterol and triglycerides (Friedewald).",
        LipidInput,
        ldl_friedewald,
        FRIEDEWALD_1972,
    ),
)
