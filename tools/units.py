"""The one unit-conversion path for lab results and calculator inputs.

Three kinds of conversion, tried in this order, and nothing else:

1. the same dimension with other metric prefixes (``mmol/L`` -> ``umol/L``, ``g/dL`` -> ``g/L``,
   ``10*3/uL`` -> ``10*9/L``, ``kPa`` -> ``Pa``): definitional UCUM arithmetic;
2. traditional <-> SI for one analyte from ``labunits`` (LOINC-keyed; creatinine, glucose...);
3. traditional <-> SI from the packaged factors in ``data/labs/unit_factors.yaml`` (calcium,
   bilirubin, phosphate, pCO2/pO2 kPa <-> mm[Hg]...), each derived from a molar mass or a unit's
   definition and sourced (see ``tools.unit_factors``).

Anything else (potassium in ``mg/dL``) raises :class:`UnitMismatch`: a wrong unit is reported,
never guessed around. Units carrying a UCUM annotation (``{INR}``, ``ng/mL{FEU}``) only match
themselves: FEU and DDU D-dimers are not interchangeable. The labs (flags, trends), the
calculators (:class:`Analyte`) and the agents all convert through :func:`convert`.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Literal

from labunits import converters
from pydantic import BeforeValidator

from core.errors import InvalidInput

_PREFIX = {
    "": 1.0,
    "k": 1e3,
    "d": 1e-1,
    "c": 1e-2,
    "m": 1e-3,
    "u": 1e-6,
    "n": 1e-9,
    "p": 1e-12,
    "f": 1e-15,
}
_BASES = ("mol", "kat", "eq", "Pa", "g", "L", "U", "[IU]")
_POWER = re.compile(r"^10[*^](-?\d+)$")


class UnitMismatch(InvalidInput):
    """A value's unit cannot be converted to the unit asked for (reference range, calculator)."""


def normalise(unit: str) -> str:
    """UCUM spelling of common lab units: µ/μ -> u, mEq -> meq, l -> L, mmHg -> mm[Hg]."""
    u = unit.strip().replace("μ", "u").replace("µ", "u").replace("mEq", "meq").replace("Kat", "kat")
    u = re.sub(r"^mm\s*Hg$", "mm[Hg]", u)
    return re.sub(r"(?<![A-Za-z])([kdcmunpf]?)l(?![A-Za-z])", r"\1L", u)


def _term(token: str) -> tuple[float, str] | None:
    """(scale, base) of one unit term, e.g. 'mg' -> (1e-3, 'g'); None when not a scalable term."""
    if token in ("", "1"):
        return 1.0, ""
    m = _POWER.match(token)
    if m:
        return 10.0 ** int(m.group(1)), ""
    for base in _BASES:
        if token.endswith(base) and token[: -len(base)] in _PREFIX:
            return _PREFIX[token[: -len(base)]], base
    return None


def _parse(unit: str) -> tuple[float, Counter[str]] | None:
    if "{" in unit or unit.count("/") > 1:
        return None
    num, _, den = unit.partition("/")
    scale = 1.0
    dims: Counter[str] = Counter()
    for token, sign in ((num, 1), (den, -1)):
        term = _term(token)
        if term is None:
            return None
        scale *= term[0] ** sign
        if term[1]:
            dims[term[1]] += sign
    return scale, dims


def unit_scale(unit: str) -> float | None:
    """The unit in its unprefixed form: 'mg/dL' -> 0.01 (g/L), 'kPa' -> 1000 (Pa)."""
    parsed = _parse(normalise(unit))
    return parsed[0] if parsed else None


def prefix_scale(from_unit: str, to_unit: str) -> float | None:
    """The factor from ``from_unit`` to ``to_unit`` when they differ only by metric prefixes."""
    a, b = normalise(from_unit), normalise(to_unit)
    if a == b:
        return 1.0
    pa, pb = _parse(a), _parse(b)
    if pa is None or pb is None or +pa[1] != +pb[1]:
        return None
    return pa[0] / pb[0]


@dataclass(frozen=True)
class Pair:
    """One analyte's traditional -> SI factor and where it comes from."""

    traditional: str
    si: str
    factor: float
    how: str


@cache
def _labunits_pair(loinc: str) -> Pair | None:
    try:
        trad = normalise(converters.traditional_unit(loinc))
        si = normalise(converters.si_unit(loinc))
        factor = converters.conversion_factor(loinc)
    except ValueError:
        return None
    return Pair(trad, si, factor, f"labunits LOINC {loinc}")


def _packaged_pair(loinc: str) -> Pair | None:
    from tools.unit_factors import packaged_factors  # it parses units with this module

    f = packaged_factors().get(loinc)
    if f is None:
        return None
    return Pair(normalise(f.traditional), normalise(f.si), f.factor, f.basis)


def _path(from_unit: str, to_unit: str, loinc: str) -> tuple[float, str] | None:
    """(multiplier, how) converting ``from_unit`` to ``to_unit`` for ``loinc``, if any path."""
    scale = prefix_scale(from_unit, to_unit)
    if scale is not None:
        return scale, "no conversion" if scale == 1.0 else f"metric prefix: x {scale:g}"
    for pair in (_labunits_pair(loinc), _packaged_pair(loinc)):
        if pair is None:
            continue
        for src, dst, mult, op in (
            (pair.traditional, pair.si, pair.factor, "x"),
            (pair.si, pair.traditional, 1.0 / pair.factor, "/"),
        ):
            a, b = prefix_scale(from_unit, src), prefix_scale(dst, to_unit)
            if a is not None and b is not None:
                return a * mult * b, f"{pair.how}: {op} {pair.factor:.4g}"
    return None


def convert(value: float, from_unit: str, to_unit: str, loinc: str) -> float:
    """``value`` in ``from_unit`` expressed in ``to_unit`` for the analyte ``loinc``."""
    path = _path(from_unit, to_unit, loinc)
    if path is None:
        raise UnitMismatch(
            f"cannot convert {from_unit or '(no unit)'} to {to_unit} for LOINC {loinc}: "
            "not a metric-prefix change, not a labunits traditional/SI pair and not a "
            "packaged factor"
        )
    return value * path[0]


def conversion_source(from_unit: str, to_unit: str, loinc: str) -> str:
    """How :func:`convert` gets from one unit to the other, e.g. 'labunits LOINC 2160-0: / 88.4'."""
    path = _path(from_unit, to_unit, loinc)
    if path is None:
        raise UnitMismatch(f"cannot convert {from_unit} to {to_unit} for LOINC {loinc}")
    return path[1]


# ---------------------------------------------------------------------------------------------
# Calculator inputs: the units each analyte is accepted in, its canonical unit, plausibility.


def normalize_unit(value: object) -> object:
    """Pydantic pre-validator: 'µmol/l', 'umol / L' -> 'umol/L' before the Literal check."""
    if isinstance(value, str):
        return normalise(value.replace(" ", ""))
    return value


CreatinineUnit = Annotated[Literal["mg/dL", "umol/L"], BeforeValidator(normalize_unit)]
GlucoseUnit = Annotated[Literal["mg/dL", "mmol/L"], BeforeValidator(normalize_unit)]
UreaUnit = Annotated[Literal["mg/dL", "mmol/L"], BeforeValidator(normalize_unit)]
AlbuminUnit = Annotated[Literal["g/dL", "g/L"], BeforeValidator(normalize_unit)]
CalciumUnit = Annotated[Literal["mg/dL", "mmol/L"], BeforeValidator(normalize_unit)]
BilirubinUnit = Annotated[Literal["mg/dL", "umol/L"], BeforeValidator(normalize_unit)]
LipidUnit = Annotated[Literal["mg/dL", "mmol/L"], BeforeValidator(normalize_unit)]
PlateletUnit = Annotated[Literal["10*9/L", "10*3/uL", "/uL"], BeforeValidator(normalize_unit)]
HaemoglobinUnit = Annotated[Literal["g/L", "g/dL"], BeforeValidator(normalize_unit)]
EthanolUnit = Annotated[Literal["mg/dL", "mmol/L"], BeforeValidator(normalize_unit)]

Sex = Literal["female", "male"]


@dataclass(frozen=True)
class Analyte:
    """A calculator input: its LOINC (for the conversion), canonical unit, plausibility bounds.

    Plausibility bounds are NOT reference ranges: they are the limits beyond which a value is a
    typing or unit error rather than a patient (creatinine 80 mg/dL, potassium 80 mmol/L). A
    value outside them raises, naming the parameter, instead of being silently computed with.
    """

    name: str
    loinc: str
    canonical_unit: str
    low: float
    high: float

    def to_canonical(self, value: float, unit: str, field: str) -> float:
        try:
            converted = convert(value, unit, self.canonical_unit, self.loinc)
        except UnitMismatch:
            raise ValueError(
                f"{field}: unit {unit!r} cannot be converted to {self.canonical_unit} "
                f"for {self.name}"
            ) from None
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
        converted = convert(value, unit, self.canonical_unit, self.loinc)
        how = conversion_source(unit, self.canonical_unit, self.loinc)
        return f"{field} {value:g} {unit} = {converted:.4g} {self.canonical_unit} ({how})"


# Serum/plasma LOINCs: creatinine, glucose, urea nitrogen (BUN mg/dL <-> urea mmol/L), albumin,
# total calcium, total bilirubin, ethanol. Bounds are plausibility, not reference ranges.
CREATININE_MG_DL = Analyte("creatinine", "2160-0", "mg/dL", low=0.05, high=40.0)
GLUCOSE_MMOL_L = Analyte("glucose", "2345-7", "mmol/L", low=0.5, high=200.0)
UREA_MMOL_L = Analyte("urea", "3094-0", "mmol/L", low=0.1, high=150.0)
ALBUMIN_G_L = Analyte("albumin", "1751-7", "g/L", low=5.0, high=70.0)
CALCIUM_MMOL_L = Analyte("calcium", "17861-6", "mmol/L", low=0.5, high=6.0)
BILIRUBIN_MG_DL = Analyte("bilirubin", "1975-2", "mg/dL", low=0.01, high=80.0)
ETHANOL_MG_DL = Analyte("ethanol", "5643-2", "mg/dL", low=0.0, high=1500.0)
# Urine creatinine and urine urea convert as the same molecules in serum (the factor is the
# molar mass), so they use the serum codes for the conversion, with urine's plausibility bounds.
URINE_CREATININE_MG_DL = Analyte("urine creatinine", "2160-0", "mg/dL", low=1.0, high=1000.0)
URINE_UREA_MMOL_L = Analyte("urine urea", "3094-0", "mmol/L", low=1.0, high=2000.0)
CHOLESTEROL_MG_DL = Analyte("cholesterol", "2093-3", "mg/dL", low=20.0, high=2000.0)
HDL_MG_DL = Analyte("HDL cholesterol", "2085-9", "mg/dL", low=2.0, high=250.0)
TRIGLYCERIDES_MG_DL = Analyte("triglycerides", "2571-8", "mg/dL", low=5.0, high=20000.0)
HAEMOGLOBIN_G_L = Analyte("haemoglobin", "718-7", "g/L", low=10.0, high=250.0)
PLATELETS_10E9_L = Analyte("platelets", "777-3", "10*9/L", low=1.0, high=3000.0)


# How ward staff write the UCUM codes that read badly (UCUM 2.1 print symbols, §§ 4-5: the
# curly-brace annotation and the square-bracket atoms are syntax, not what a clinician writes).
_WRITTEN = {
    "mL/min/{1.73_m2}": "mL/min/1.73 m²",
    "mL/min/1.73m2": "mL/min/1.73 m²",
    "mm[Hg]": "mmHg",
    "Cel": "°C",
    "10*9/L": "×10⁹/L",
    "10*12/L": "×10¹²/L",
    "10*3/uL": "×10³/µL",
    "10*6/uL": "×10⁶/µL",
    "[degF]": "°F",
    "{INR}": "",
    "[pH]": "",
    "{ratio}": "",
    "{score}": "",
    "/min": "/min",
    "[IU]/L": "IU/L",
    "m[IU]/L": "mIU/L",
    "u[IU]/mL": "µIU/mL",
    "umol/L": "µmol/L",
    "ug/L": "µg/L",
    "ug/dL": "µg/dL",
    "uL": "µL",
}


def written_unit(unit: str) -> str:
    """The unit as people write it (``mL/min/{1.73_m2}`` -> ``mL/min/1.73 m²``, ``mm[Hg]`` ->
    ``mmHg``); other annotations in braces are dropped (``ng/mL{FEU}`` keeps ``ng/mL FEU``)."""
    if unit in _WRITTEN:
        return _WRITTEN[unit]
    written = re.sub(r"\{([^}]*)\}", lambda m: f" {m.group(1)}" if m.group(1) else "", unit)
    return written.replace("[", "").replace("]", "").strip()
