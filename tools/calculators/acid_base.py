"""Mixed acid-base disorders: the delta gap and the delta ratio (delta AG / delta HCO3).

Both compare the rise of the anion gap above its normal (12 mmol/L) with the fall of bicarbonate
below its normal (24 mmol/L), the normals MDCalc and MedCalc-Bench use (Wrenn 1990; Rastegar
2007). Na, Cl and HCO3 are in mmol/L, which for these monovalent ions equals mEq/L.
"""

from __future__ import annotations

from typing import Any, Self

from pydantic import model_validator

from tools.calculators.base import CalcResult, Calculator, Source
from tools.calculators.chemistry import ElectrolyteInput

WRENN_1990 = Source(
    authors="Wrenn K",
    title="The delta (delta) gap: an approach to mixed acid-base disorders",
    published="Ann Emerg Med 19:1310-1313",
    year=1990,
)
RASTEGAR_2007 = Source(
    authors="Rastegar A",
    title="Use of the delta AG/delta HCO3- ratio in the diagnosis of mixed acid-base disorders",
    published="J Am Soc Nephrol 18:2429-2431",
    year=2007,
)
NORMAL_ANION_GAP = 12.0  # mmol/L, Wrenn 1990 (the normal both scores subtract)
NORMAL_BICARBONATE = 24.0  # mmol/L, Rastegar 2007


def _gap(params: ElectrolyteInput) -> float:
    return params.sodium - (params.chloride + params.bicarbonate)


def delta_gap(params: ElectrolyteInput) -> CalcResult:
    """Delta gap = anion gap - 12 mmol/L (Wrenn 1990)."""
    gap = _gap(params)
    delta = gap - NORMAL_ANION_GAP
    return CalcResult(
        calculator="delta_gap",
        value=round(delta, 2),
        unit="mmol/L",
        interpretation=f"delta gap {delta:.1f} mmol/L (anion gap {gap:.1f} - 12); compare with "
        f"the fall in bicarbonate, 24 - {params.bicarbonate:g} = "
        f"{NORMAL_BICARBONATE - params.bicarbonate:.1f} mmol/L (see delta_ratio)",
        components={"anion_gap": round(gap, 2)},
        inputs=params.model_dump(mode="json"),
        source=WRENN_1990.cite(),
    )


class DeltaRatioInput(ElectrolyteInput):
    @model_validator(mode="after")
    def _acidotic(self) -> Self:
        if self.bicarbonate >= NORMAL_BICARBONATE:
            raise ValueError(
                f"bicarbonate {self.bicarbonate:g} mmol/L is not below 24: the delta ratio "
                "describes a metabolic acidosis (its denominator, 24 - HCO3, must be positive)"
            )
        return self


def _ratio_band(ratio: float) -> str:
    # Rastegar 2007 and Brandis (Acid-Base Physiology, 8.5): < 0.4 hyperchloraemic normal-gap
    # acidosis; 0.4-1 high- and normal-gap acidosis together; 1-2 pure high-gap acidosis; > 2 a
    # high-gap acidosis with a metabolic alkalosis (or a chronic respiratory acidosis).
    if ratio < 0.4:
        return "normal anion gap acidosis (< 0.4)"
    if ratio < 1:
        return "high and normal anion gap acidosis (0.4-1)"
    if ratio <= 2:
        return "high anion gap acidosis (1-2)"
    return "high anion gap acidosis with metabolic alkalosis (> 2)"


def delta_ratio(params: DeltaRatioInput) -> CalcResult:
    """Delta ratio = (anion gap - 12) / (24 - HCO3) (Rastegar 2007)."""
    gap = _gap(params)
    ratio = (gap - NORMAL_ANION_GAP) / (NORMAL_BICARBONATE - params.bicarbonate)
    band = _ratio_band(ratio)
    return CalcResult(
        calculator="delta_ratio",
        value=round(ratio, 5),
        unit="{ratio}",
        category=band,
        interpretation=f"delta ratio {ratio:.2f}: {band}",
        components={
            "anion_gap": round(gap, 2),
            "delta_gap": round(gap - NORMAL_ANION_GAP, 2),
            "delta_bicarbonate": round(NORMAL_BICARBONATE - params.bicarbonate, 2),
        },
        inputs=params.model_dump(mode="json"),
        source=RASTEGAR_2007.cite(),
    )


ACID_BASE_CALCULATORS: tuple[Calculator[Any], ...] = (
    Calculator(
        "delta_gap",
        "Delta gap (anion gap - 12) for mixed acid-base disorders.",
        ElectrolyteInput,
        delta_gap,
        WRENN_1990,
    ),
    Calculator(
        "delta_ratio",
        "Delta ratio (delta anion gap / delta bicarbonate) in metabolic acidosis.",
        DeltaRatioInput,
        delta_ratio,
        RASTEGAR_2007,
    ),
)
