"""Explicit unit conversion and plausibility checks for calculator inputs.

Every analyte a calculator takes in two unit systems is converted here, in one place, and each
conversion is described so the result can show it. Factors come from ``labunits`` (LOINC-keyed)
where it carries the analyte; where it does not, from the molar mass, cited next to it.

Plausibility bounds are NOT reference ranges: they are the limits beyond which a value is a
typing or unit error rather than a patient (creatinine 80 mg/dL, potassium 80 mmol/L). A value
outside them raises, naming the parameter, instead of being silently computed with.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Literal

from labunits.converters import to_si_unit, to_traditional_unit
from pydantic import BeforeValidator


def normalize_unit(value: object) -> object:
    """Accept the micro sign (µ, μ) and stray spaces for UCUM's 'u': 'µmol/L' -> 'umol/L'."""
    if isinstance(value, str):
        return value.strip().replace("µ", "u").replace("μ", "u").replace(" ", "")
    return value


CreatinineUnit = Annotated[Literal["mg/dL", "umol/L"], BeforeValidator(normalize_unit)]
GlucoseUnit = Annotated[Literal["mg/dL", "mmol/L"], BeforeValidator(normalize_unit)]
UreaUnit = Annotated[Literal["mg/dL", "mmol/L"], BeforeValidator(normalize_unit)]
AlbuminUnit = Annotated[Literal["g/dL", "g/L"], BeforeValidator(normalize_unit)]
CalciumUnit = Annotated[Literal["mg/dL", "mmol/L"], BeforeValidator(normalize_unit)]
BilirubinUnit = Annotated[Literal["mg/dL", "umol/L"], BeforeValidator(normalize_unit)]
EthanolUnit = Annotated[Literal["mg/dL", "mmol/L"], BeforeValidator(normalize_unit)]

# LOINC codes of the analytes labunits converts (serum/plasma).
LOINC_CREATININE = "2160-0"  # labunits: mg/dL -> umol/L x 88.4
LOINC_GLUCOSE = "2345-7"  # labunits: mg/dL -> mmol/L x 0.05551
LOINC_UREA_NITROGEN = "3094-0"  # labunits: BUN mg/dL -> urea mmol/L x 0.357
LOINC_ALBUMIN = "1751-7"  # labunits: g/dL -> g/L x 10

# Molar masses for analytes labunits does not carry as total serum concentrations.
# Calcium: standard atomic weight 40.078 (IUPAC CIAAW, 2021). 1 mg/dL = 10 mg/L / 40.078.
CALCIUM_MG_DL_PER_MMOL_L = 4.0078
# Bilirubin (C33H36N4O6): molar mass 584.66 g/mol. 1 mg/dL = 10 mg/L / 584.66 = 17.104 umol/L.
BILIRUBIN_UMOL_L_PER_MG_DL = 17.104


@dataclass(frozen=True)
class Analyte:
    """One analyte: its canonical unit, converters from accepted units, plausibility bounds."""

    name: str
    canonical_unit: str
    from_unit: Mapping[str, tuple[Callable[[float], float], str]]
    low: float
    high: float

    def to_canonical(self, value: float, unit: str, field: str) -> float:
        if unit not in self.from_unit:
            choices = ", ".join(sorted(self.from_unit))
            raise ValueError(
                f"{field}: unknown unit {unit!r} for {self.name}; use one of {choices}"
            )
        convert, _how = self.from_unit[unit]
        converted = convert(value)
        if not self.low <= converted <= self.high:
            shown = f"{value:g} {unit}" + (
                "" if unit == self.canonical_unit else f" (= {converted:.3g} {self.canonical_unit})"
            )
            raise ValueError(
                f"{field} {shown} is outside the plausible range "
                f"{self.low:g}-{self.high:g} {self.canonical_unit}; check the value and its unit"
            )
        return converted

    def conversion_note(self, value: float, unit: str, field: str) -> str | None:
        """A line for ``CalcResult.conversions``, or None when no conversion was needed."""
        if unit == self.canonical_unit:
            return None
        convert, how = self.from_unit[unit]
        return f"{field} {value:g} {unit} = {convert(value):.4g} {self.canonical_unit} ({how})"


def _same(value: float) -> float:
    return value


CREATININE_MG_DL = Analyte(
    "creatinine",
    "mg/dL",
    {
        "mg/dL": (_same, "no conversion"),
        "umol/L": (
            lambda v: to_traditional_unit(v, LOINC_CREATININE),
            "labunits LOINC 2160-0: / 88.4",
        ),
    },
    low=0.05,  # plausibility, not a reference range
    high=40.0,
)
GLUCOSE_MMOL_L = Analyte(
    "glucose",
    "mmol/L",
    {
        "mmol/L": (_same, "no conversion"),
        "mg/dL": (lambda v: to_si_unit(v, LOINC_GLUCOSE), "labunits LOINC 2345-7: x 0.05551"),
    },
    low=0.5,
    high=200.0,
)
UREA_MMOL_L = Analyte(
    "urea",
    "mmol/L",
    {
        "mmol/L": (_same, "no conversion"),
        "mg/dL": (
            lambda v: to_si_unit(v, LOINC_UREA_NITROGEN),
            "labunits LOINC 3094-0, BUN: x 0.357",
        ),
    },
    low=0.1,
    high=150.0,
)
ALBUMIN_G_L = Analyte(
    "albumin",
    "g/L",
    {
        "g/L": (_same, "no conversion"),
        "g/dL": (lambda v: to_si_unit(v, LOINC_ALBUMIN), "labunits LOINC 1751-7: x 10"),
    },
    low=5.0,
    high=70.0,
)
CALCIUM_MMOL_L = Analyte(
    "calcium",
    "mmol/L",
    {
        "mmol/L": (_same, "no conversion"),
        "mg/dL": (lambda v: v / CALCIUM_MG_DL_PER_MMOL_L, "molar mass 40.078 g/mol: / 4.0078"),
    },
    low=0.5,
    high=6.0,
)
BILIRUBIN_MG_DL = Analyte(
    "bilirubin",
    "mg/dL",
    {
        "mg/dL": (_same, "no conversion"),
        "umol/L": (
            lambda v: v / BILIRUBIN_UMOL_L_PER_MG_DL,
            "molar mass 584.66 g/mol: / 17.104",
        ),
    },
    low=0.01,
    high=80.0,
)

Sex = Literal["female", "male"]
