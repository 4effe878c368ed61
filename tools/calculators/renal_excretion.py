"""Fractional excretion of sodium and of urea: prerenal or intrinsic acute kidney injury."""

from __future__ import annotations

from typing import Any, Self

from pydantic import Field, model_validator

from tools.calculators.base import CalcInput, CalcResult, Calculator, Source
from tools.units import (
    CREATININE_MG_DL,
    UREA_MMOL_L,
    URINE_CREATININE_MG_DL,
    URINE_UREA_MMOL_L,
    CreatinineUnit,
    UreaUnit,
)

ESPINEL_1976 = Source(
    authors="Espinel CH",
    title="The FENa test. Use in the differential diagnosis of acute renal failure",
    published="JAMA 236:579-581",
    year=1976,
)
CARVOUNIS_2002 = Source(
    authors="Carvounis CP, Nisar S, Guro-Razuman S",
    title="Significance of the fractional excretion of urea in the differential diagnosis of "
    "acute renal failure",
    published="Kidney Int 62:2223-2229",
    year=2002,
)


class CreatininePairInput(CalcInput):
    creatinine: float = Field(gt=0, description="serum creatinine")
    creatinine_unit: CreatinineUnit = Field(default="mg/dL", description="'mg/dL' or 'umol/L'")
    urine_creatinine: float = Field(gt=0, description="spot urine creatinine")
    urine_creatinine_unit: CreatinineUnit = Field(
        default="mg/dL", description="'mg/dL' or 'umol/L'"
    )

    def creatinine_ratio(self) -> float:
        """Serum / urine creatinine, both in mg/dL (units cancel once they agree)."""
        serum = CREATININE_MG_DL.to_canonical(self.creatinine, self.creatinine_unit, "creatinine")
        urine = URINE_CREATININE_MG_DL.to_canonical(
            self.urine_creatinine, self.urine_creatinine_unit, "urine_creatinine"
        )
        return serum / urine

    def conversions(self) -> tuple[str, ...]:
        notes = (
            CREATININE_MG_DL.conversion_note(self.creatinine, self.creatinine_unit, "creatinine"),
            URINE_CREATININE_MG_DL.conversion_note(
                self.urine_creatinine, self.urine_creatinine_unit, "urine_creatinine"
            ),
        )
        return tuple(n for n in notes if n)


class FenaInput(CreatininePairInput):
    sodium: float = Field(ge=100, le=200, description="serum sodium, mmol/L (= mEq/L)")
    urine_sodium: float = Field(ge=1, le=400, description="spot urine sodium, mmol/L")

    @model_validator(mode="after")
    def _plausible(self) -> Self:
        self.creatinine_ratio()
        return self


def fractional_excretion_sodium(params: FenaInput) -> CalcResult:
    """FENa (%) = (urine Na x serum Cr) / (serum Na x urine Cr) x 100 (Espinel 1976)."""
    fena = params.urine_sodium / params.sodium * params.creatinine_ratio() * 100.0
    # Espinel 1976: < 1% prerenal azotaemia, > 1% (usually > 3%) acute tubular necrosis.
    category = "prerenal pattern (< 1%)" if fena < 1 else "intrinsic pattern (>= 1%)"
    return CalcResult(
        calculator="fractional_excretion_sodium",
        value=round(fena, 3),
        unit="%",
        category=category,
        interpretation=f"FENa {fena:.2f}%: {category}",
        inputs=params.model_dump(mode="json"),
        conversions=params.conversions(),
        warnings=(
            "diuretics raise FENa: use the fractional excretion of urea after diuretics",
            "meaningful in oliguric AKI; contrast, sepsis and early obstruction can give < 1%",
        ),
        source=ESPINEL_1976.cite(),
    )


class FeureaInput(CreatininePairInput):
    urea: float = Field(gt=0, description="serum urea (mmol/L) or urea nitrogen (BUN, mg/dL)")
    urea_unit: UreaUnit = Field(default="mmol/L", description="'mmol/L' urea or 'mg/dL' BUN")
    urine_urea: float = Field(gt=0, description="spot urine urea (mmol/L) or urea nitrogen")
    urine_urea_unit: UreaUnit = Field(default="mmol/L", description="'mmol/L' or 'mg/dL'")

    def urea_ratio(self) -> float:
        urine = URINE_UREA_MMOL_L.to_canonical(self.urine_urea, self.urine_urea_unit, "urine_urea")
        return urine / UREA_MMOL_L.to_canonical(self.urea, self.urea_unit, "urea")

    @model_validator(mode="after")
    def _plausible(self) -> Self:
        self.creatinine_ratio()
        self.urea_ratio()
        return self


def fractional_excretion_urea(params: FeureaInput) -> CalcResult:
    """FEUrea (%) = (urine urea x serum Cr) / (serum urea x urine Cr) x 100 (Carvounis 2002)."""
    feurea = params.urea_ratio() * params.creatinine_ratio() * 100.0
    # Carvounis 2002: <= 35% prerenal, > 50% intrinsic (acute tubular necrosis).
    if feurea <= 35:
        category = "prerenal pattern (<= 35%)"
    elif feurea > 50:
        category = "intrinsic pattern (> 50%)"
    else:
        category = "indeterminate (35-50%)"
    return CalcResult(
        calculator="fractional_excretion_urea",
        value=round(feurea, 1),
        unit="%",
        category=category,
        interpretation=f"FEUrea {feurea:.1f}%: {category}; usable after diuretics",
        inputs=params.model_dump(mode="json"),
        conversions=params.conversions(),
        source=CARVOUNIS_2002.cite(),
    )


RENAL_EXCRETION_CALCULATORS: tuple[Calculator[Any], ...] = (
    Calculator(
        "fractional_excretion_sodium",
        "Fractional excretion of sodium (FENa) in acute kidney injury.",
        FenaInput,
        fractional_excretion_sodium,
        ESPINEL_1976,
    ),
)
# FEUrea has one published worked example so far (three are required): not yet registered.
FEUREA_CALCULATORS: tuple[Calculator[Any], ...] = (
    Calculator(
        "fractional_excretion_urea",
        "Fractional excretion of urea (FEUrea), for AKI on diuretics.",
        FeureaInput,
        fractional_excretion_urea,
        CARVOUNIS_2002,
    ),
)
