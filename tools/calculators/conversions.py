"""Dose conversions: corticosteroid equivalents and daily oral morphine milligram equivalents."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tools.calculators.base import CalcInput, CalcResult, Calculator, Source

BNF_STEROIDS = Source(
    authors="Joint Formulary Committee",
    title="British National Formulary: glucocorticoid therapy, equivalent anti-inflammatory "
    "doses of corticosteroids",
    published="BNF, Corticosteroids, general use (prednisolone 5 mg = betamethasone 750 "
    "micrograms = dexamethasone 750 micrograms = hydrocortisone 20 mg = methylprednisolone "
    "4 mg = triamcinolone 4 mg = cortisone acetate 25 mg = deflazacort 6 mg)",
    year=2024,
)
CDC_2022 = Source(
    authors="Dowell D, Ragan KR, Jones CM, Baldwin GT, Chou R",
    title="CDC Clinical Practice Guideline for Prescribing Opioids for Pain - United States, 2022",
    published="MMWR Recomm Rep 71(3):1-95, Table (morphine milligram equivalent factors)",
    year=2022,
)
# mg equivalent to prednisolone 5 mg (BNF); prednisone as prednisolone (not marketed in the UK).
_STEROID_MG = {
    "prednisolone": 5.0,
    "prednisone": 5.0,
    "hydrocortisone": 20.0,
    "cortisone": 25.0,
    "methylprednisolone": 4.0,
    "triamcinolone": 4.0,
    "dexamethasone": 0.75,
    "betamethasone": 0.75,
    "deflazacort": 6.0,
}
Steroid = Literal[
    "prednisolone", "prednisone", "hydrocortisone", "cortisone", "methylprednisolone",
    "triamcinolone", "dexamethasone", "betamethasone", "deflazacort",
]  # fmt: skip


class SteroidInput(CalcInput):
    steroid: Steroid = Field(description="the steroid given")
    dose_mg: float = Field(gt=0, le=5000, description="its dose, mg")
    target: Steroid = Field(description="the steroid to express it as")


def steroid_conversion(params: SteroidInput) -> CalcResult:
    """Equivalent dose = dose x (target's equivalent / given steroid's equivalent) (BNF)."""
    value = params.dose_mg * _STEROID_MG[params.target] / _STEROID_MG[params.steroid]
    return CalcResult(
        calculator="steroid_conversion",
        value=round(value, 3),
        unit="mg",
        interpretation=f"{params.dose_mg:g} mg {params.steroid} = {value:.3g} mg {params.target} "
        "in glucocorticoid (anti-inflammatory) effect",
        inputs=params.model_dump(mode="json"),
        warnings=(
            "equivalence is glucocorticoid only: mineralocorticoid effect and duration differ "
            "(hydrocortisone and cortisone are the mineralocorticoid ones)",
        ),
        source=BNF_STEROIDS.cite(),
    )


# CDC 2022 MME factors; fentanyl buccal/sublingual per microgram as in the CDC 2016 table.
_MME_FACTOR = {
    "codeine": 0.15,
    "hydrocodone": 1.0,
    "hydromorphone": 5.0,
    "methadone": 4.7,
    "morphine": 1.0,
    "oxycodone": 1.5,
    "oxymorphone": 3.0,
    "tapentadol": 0.4,
    "tramadol": 0.2,
    "fentanyl_buccal": 0.13,
    "fentanyl_patch": 2.4,
}
_UNIT = {"fentanyl_buccal": "ug", "fentanyl_patch": "ug/h"}
Opioid = Literal[
    "codeine", "hydrocodone", "hydromorphone", "methadone", "morphine", "oxycodone",
    "oxymorphone", "tapentadol", "tramadol", "fentanyl_buccal", "fentanyl_patch",
]  # fmt: skip


class OpioidDose(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    drug: Opioid
    dose: float = Field(gt=0, le=10000, description="mg; fentanyl buccal ug, patch ug/h")
    per_day: float = Field(default=1, gt=0, le=24, description="doses a day (patch: 1)")


class MmeInput(CalcInput):
    doses: tuple[OpioidDose, ...] = Field(
        min_length=1,
        description='JSON list, e.g. [{"drug": "oxycodone", "dose": 10, "per_day": 3}]',
    )


def morphine_equivalents(params: MmeInput) -> CalcResult:
    """Daily MME = sum of dose x doses a day x the CDC factor of each opioid (CDC 2022)."""
    parts: dict[str, float] = {}
    for d in params.doses:
        parts[d.drug] = parts.get(d.drug, 0.0) + d.dose * d.per_day * _MME_FACTOR[d.drug]
    total = sum(parts.values())
    # CDC 2022 recommendation 4: reassess benefit and risk at >= 50 MME/day.
    band = "50 MME/day or more" if total >= 50 else "below 50 MME/day"
    return CalcResult(
        calculator="morphine_equivalents",
        value=round(total, 2),
        unit="mg/d",
        category=band,
        interpretation=f"{total:.1f} morphine milligram equivalents a day ({band}; CDC 2022 asks "
        "to reassess benefits and risks from 50)",
        components={k: round(v, 2) for k, v in parts.items()},
        inputs=params.model_dump(mode="json"),
        warnings=(
            "MME estimates overdose risk; it is not a conversion table for switching opioids",
            *(f"{k} dose in {u}" for k, u in _UNIT.items() if k in parts),
        ),
        source=CDC_2022.cite(),
    )


CONVERSION_CALCULATORS: tuple[Calculator[Any], ...] = (
    Calculator(
        "steroid_conversion",
        "Equivalent corticosteroid dose (glucocorticoid effect, BNF).",
        SteroidInput,
        steroid_conversion,
        BNF_STEROIDS,
    ),
    Calculator(
        "morphine_equivalents",
        "Daily oral morphine milligram equivalents of the opioids taken (CDC 2022).",
        MmeInput,
        morphine_equivalents,
        CDC_2022,
    ),
)
