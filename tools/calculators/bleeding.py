"""Upper gastrointestinal bleeding: the Glasgow-Blatchford score."""

from __future__ import annotations

from typing import Any, Self

from pydantic import Field, model_validator

from tools.calculators.base import CalcInput, CalcResult, Calculator, Source
from tools.calculators.criteria import point_score
from tools.units import HAEMOGLOBIN_G_L, UREA_MMOL_L, HaemoglobinUnit, Sex, UreaUnit

BLATCHFORD_2000 = Source(
    authors="Blatchford O, Murray WR, Blatchford M",
    title="A risk score to predict need for treatment for upper-gastrointestinal haemorrhage",
    published="Lancet 356:1318-1321",
    year=2000,
)
# Blatchford 2000, Table 2: (lower bound, points) for urea (mmol/L), haemoglobin (g/L) by sex,
# systolic blood pressure (mmHg). Urea 10.0-25.0 scores 4 and only > 25 scores 6 (the 25.0 row
# edge, as read in the table reproduced by Wikipedia "Glasgow-Blatchford score" and the
# pharmacy-notebook GBS page: "10.0-25.0 = 4 points, >25.0 = 6 points").
_UREA_OVER_25 = 6.0
_UREA = ((10.0, 4.0), (8.0, 3.0), (6.5, 2.0))
_HB_MEN = ((130.0, 0.0), (120.0, 1.0), (100.0, 3.0), (0.0, 6.0))
_HB_WOMEN = ((120.0, 0.0), (100.0, 1.0), (0.0, 6.0))
_SBP = ((110.0, 0.0), (100.0, 1.0), (90.0, 2.0), (0.0, 3.0))


class BlatchfordInput(CalcInput):
    urea: float = Field(gt=0, description="blood urea (mmol/L) or urea nitrogen (BUN, mg/dL)")
    urea_unit: UreaUnit = Field(default="mmol/L", description="'mmol/L' urea or 'mg/dL' BUN")
    haemoglobin: float = Field(gt=0, description="haemoglobin")
    haemoglobin_unit: HaemoglobinUnit = Field(default="g/L", description="'g/L' or 'g/dL'")
    sex: Sex = Field(description="'female' or 'male'")
    systolic_bp: float = Field(ge=30, le=300, description="mmHg")
    heart_rate: float = Field(ge=20, le=300, description="beats/min")
    melaena: bool = False
    syncope: bool = False
    hepatic_disease: bool = Field(default=False, description="history or evidence")
    cardiac_failure: bool = Field(default=False, description="history or evidence")

    def urea_mmol_l(self) -> float:
        return UREA_MMOL_L.to_canonical(self.urea, self.urea_unit, "urea")

    def haemoglobin_g_l(self) -> float:
        return HAEMOGLOBIN_G_L.to_canonical(self.haemoglobin, self.haemoglobin_unit, "haemoglobin")

    @model_validator(mode="after")
    def _plausible(self) -> Self:
        self.urea_mmol_l()
        self.haemoglobin_g_l()
        return self


def _band(value: float, table: tuple[tuple[float, float], ...]) -> float:
    return next((points for low, points in table if value >= low), 0.0)


def _urea_points(urea_mmol_l: float) -> float:
    return _UREA_OVER_25 if urea_mmol_l > 25.0 else _band(urea_mmol_l, _UREA)


def glasgow_blatchford(params: BlatchfordInput) -> CalcResult:
    """Urea, haemoglobin, systolic BP, pulse >= 100, melaena, syncope (2), hepatic disease (2),
    cardiac failure (2) (Blatchford 2000, Table 2)."""
    points = {
        "urea": _urea_points(params.urea_mmol_l()),
        "haemoglobin": _band(
            params.haemoglobin_g_l(), _HB_MEN if params.sex == "male" else _HB_WOMEN
        ),
        "systolic_bp": _band(params.systolic_bp, _SBP),
        "pulse_100_or_over": float(params.heart_rate >= 100),
        "melaena": float(params.melaena),
        "syncope": 2.0 * params.syncope,
        "hepatic_disease": 2.0 * params.hepatic_disease,
        "cardiac_failure": 2.0 * params.cardiac_failure,
    }
    total = int(sum(points.values()))
    notes = tuple(
        n
        for n in (
            UREA_MMOL_L.conversion_note(params.urea, params.urea_unit, "urea"),
            HAEMOGLOBIN_G_L.conversion_note(
                params.haemoglobin, params.haemoglobin_unit, "haemoglobin"
            ),
        )
        if n
    )
    return point_score(
        "glasgow_blatchford",
        params,
        points,
        BLATCHFORD_2000,
        category="very low risk (0-1)" if total <= 1 else "not low risk",
        interpretation=f"Glasgow-Blatchford {total}: "
        + (
            "very low risk: outpatient management can be considered (0-1, Stanley 2017; "
            "NICE CG141 1.1.2 names a score of 0 for early discharge)"
            if total <= 1
            else "needs admission and endoscopy; higher scores predict intervention"
        ),
        conversions=notes,
    )


BLEEDING_CALCULATORS: tuple[Calculator[Any], ...] = (
    Calculator(
        "glasgow_blatchford",
        "Glasgow-Blatchford score for upper gastrointestinal bleeding.",
        BlatchfordInput,
        glasgow_blatchford,
        BLATCHFORD_2000,
    ),
)
