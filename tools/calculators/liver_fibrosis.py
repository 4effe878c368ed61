"""Liver fibrosis: the FIB-4 index."""

from __future__ import annotations

from math import sqrt
from typing import Any, Self

from pydantic import Field, model_validator

from tools.calculators.base import CalcInput, CalcResult, Calculator, Source
from tools.units import PLATELETS_10E9_L, PlateletUnit

STERLING_2006 = Source(
    authors="Sterling RK, Lissen E, Clumeck N, et al.",
    title="Development of a simple noninvasive index to predict significant fibrosis in "
    "patients with HIV/HCV coinfection",
    published="Hepatology 43:1317-1325",
    year=2006,
)
# NAFLD cut-offs 1.30 and 2.67 (Shah AG et al., Clin Gastroenterol Hepatol 2009;7:1104-1112);
# from age 65 the low cut-off is 2.0 (McPherson S et al., Am J Gastroenterol 2017;112:740-751).
_LOW, _LOW_65, _HIGH = 1.30, 2.0, 2.67


class Fib4Input(CalcInput):
    age: float = Field(ge=18, le=125, description="age in years")
    ast: float = Field(gt=0, le=20000, description="aspartate aminotransferase, U/L")
    alt: float = Field(gt=0, le=20000, description="alanine aminotransferase, U/L")
    platelets: float = Field(gt=0, description="platelet count")
    platelets_unit: PlateletUnit = Field(
        default="10*9/L", description="'10*9/L' (= '10*3/uL') or '/uL'"
    )

    @model_validator(mode="after")
    def _plausible(self) -> Self:
        self.platelets_10e9_l()
        return self

    def platelets_10e9_l(self) -> float:
        return PLATELETS_10E9_L.to_canonical(self.platelets, self.platelets_unit, "platelets")


def fib4(params: Fib4Input) -> CalcResult:
    """FIB-4 = age x AST / (platelets (10^9/L) x sqrt(ALT)) (Sterling 2006)."""
    value = params.age * params.ast / (params.platelets_10e9_l() * sqrt(params.alt))
    low = _LOW_65 if params.age >= 65 else _LOW
    if value < low:
        category = "low risk of advanced fibrosis"
    elif value > _HIGH:
        category = "high risk of advanced fibrosis"
    else:
        category = "indeterminate"
    note = PLATELETS_10E9_L.conversion_note(params.platelets, params.platelets_unit, "platelets")
    warnings = ["validated in chronic liver disease (viral hepatitis, NAFLD); not in acute injury"]
    if params.age < 35:
        warnings.append("less accurate under 35 years (McPherson 2017)")
    return CalcResult(
        calculator="fib4",
        value=round(value, 2),
        unit="{index}",
        category=category,
        interpretation=f"FIB-4 {value:.2f}: {category} (< {low:g} low, > {_HIGH:g} high)",
        inputs=params.model_dump(mode="json"),
        conversions=(note,) if note else (),
        warnings=tuple(warnings),
        source=STERLING_2006.cite(),
    )


LIVER_FIBROSIS_CALCULATORS: tuple[Calculator[Any], ...] = (
    Calculator(
        "fib4",
        "FIB-4 index of liver fibrosis from age, AST, ALT and platelets.",
        Fib4Input,
        fib4,
        STERLING_2006,
    ),
)
