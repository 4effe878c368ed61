"""Unit conversion for lab results: UCUM metric prefixes, and labunits' LOINC-keyed factors.

Two kinds of conversion, and nothing else:

- the same dimension with different metric prefixes (``mmol/L`` to ``umol/L``, ``10*3/uL`` to
  ``10*9/L``): definitional UCUM arithmetic, no clinical constant involved;
- traditional <-> SI for one analyte (creatinine ``mg/dL`` <-> ``umol/L``, glucose ``mg/dL`` <->
  ``mmol/L``): the factor comes from ``labunits``, keyed by LOINC, never from a constant here.

Anything else (potassium in ``mg/dL``) raises :class:`UnitMismatch`: a wrong unit is reported,
never guessed around. Units carrying a UCUM annotation (``{INR}``, ``ng/mL{FEU}``) only match
themselves: FEU and DDU D-dimers are not interchangeable.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import cache

from labunits import converters

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
_BASES = ("mol", "kat", "eq", "g", "L", "U", "[IU]")
_POWER = re.compile(r"^10[*^](-?\d+)$")


class UnitMismatch(InvalidInput):
    """A result's unit cannot be converted to the unit its reference range is expressed in."""


def normalise(unit: str) -> str:
    """A UCUM-ish spelling of common lab unit spellings: µ/μ -> u, mEq -> meq, l -> L."""
    u = unit.strip().replace("μ", "u").replace("µ", "u").replace("mEq", "meq").replace("Kat", "kat")
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


def prefix_scale(from_unit: str, to_unit: str) -> float | None:
    """The factor from ``from_unit`` to ``to_unit`` when they differ only by metric prefixes."""
    a, b = normalise(from_unit), normalise(to_unit)
    if a == b:
        return 1.0
    pa, pb = _parse(a), _parse(b)
    if pa is None or pb is None or +pa[1] != +pb[1]:
        return None
    return pa[0] / pb[0]


@cache
def _labunits_pair(loinc: str) -> tuple[str, str, float] | None:
    try:
        trad = normalise(converters.traditional_unit(loinc))
        si = normalise(converters.si_unit(loinc))
        factor = converters.conversion_factor(loinc)
    except ValueError:
        return None
    return trad, si, factor


def _via_labunits(value: float, from_unit: str, to_unit: str, loinc: str) -> float | None:
    pair = _labunits_pair(loinc)
    if pair is None:
        return None
    trad, si, factor = pair
    for src, dst, mult in ((trad, si, factor), (si, trad, 1.0 / factor)):
        a, b = prefix_scale(from_unit, src), prefix_scale(dst, to_unit)
        if a is not None and b is not None:
            return value * a * mult * b
    return None


def convert(value: float, from_unit: str, to_unit: str, loinc: str) -> float:
    """``value`` in ``from_unit`` expressed in ``to_unit`` for the analyte ``loinc``."""
    scale = prefix_scale(from_unit, to_unit)
    if scale is not None:
        return value * scale
    converted = _via_labunits(value, from_unit, to_unit, loinc)
    if converted is None:
        raise UnitMismatch(
            f"cannot convert {from_unit or '(no unit)'} to {to_unit} for LOINC {loinc}: "
            "not a metric-prefix change and not a labunits traditional/SI pair"
        )
    return converted
