"""Lab results: which analyte a LOINC code measures, and the laboratory's own range as text.

A result coded with any LOINC code in common use for an analyte is counted under the code our
checks and reference ranges key on (``data/resolve/loinc_analytes.yaml``, sourced per code):
creatinine as 38483-4 (whole blood) feeds eGFR and AKI staging as 2160-0 does. The code the
record used is kept on the result (``Observation.reported_loinc``). A code that has its own
reference range is never re-coded: it already names what was measured.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from core.domain import Coding
from core.errors import DataFileError
from core.settings import SHIPPED_DATA
from tools.fhir.codes import LOINC, is_valid_loinc
from tools.units import normalise, prefix_scale

ANALYTES_FILE = SHIPPED_DATA / "resolve" / "loinc_analytes.yaml"
PER_AREA_UNIT = "mL/min/{1.73_m2}"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AnalyteCode(_Model):
    loinc: str
    unit: str


class LoincAlias(_Model):
    loinc: str
    name: str
    source: str


class AnalyteCodes(_Model):
    analyte: str
    codes: tuple[AnalyteCode, ...]
    aliases: tuple[LoincAlias, ...] = ()
    per_area: bool = False

    def code_for(self, unit: str) -> str:
        """The analyte's code in ``unit``'s family (mass or substance concentration)."""
        for code in self.codes:
            if prefix_scale(unit, code.unit) is not None:
                return code.loinc
        return self.codes[0].loinc


class LabResolution(_Model):
    """How one result's code was read."""

    loinc: str
    analyte: str = ""
    reported_loinc: str = ""
    unit: str = ""
    reported_unit: str = ""
    alias: LoincAlias | None = None


def load_analytes(path: Path = ANALYTES_FILE) -> dict[str, AnalyteCodes]:
    """Every analyte by each of its codes; a code listed twice, a malformed code or an unknown
    source refuses the file."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DataFileError(str(exc), file=str(path)) from exc
    sources = {k: " ".join(str(v).split()) for k, v in doc["sources"].items()}
    out: dict[str, AnalyteCodes] = {}
    for i, raw in enumerate(doc["analytes"]):
        where = f"analytes[{i}] ({raw.get('analyte', '?')})"
        for alias in raw.get("aliases") or ():
            if alias.get("source") not in sources:
                raise DataFileError(
                    f"{where}: unknown source {alias.get('source')!r}", file=path.name
                )
            alias["source"] = sources[alias["source"]]
        try:
            entry = AnalyteCodes.model_validate(raw)
        except ValidationError as exc:
            raise DataFileError(f"{where}: {exc}", file=path.name) from exc
        for code in (*(c.loinc for c in entry.codes), *(a.loinc for a in entry.aliases)):
            if not is_valid_loinc(code):
                raise DataFileError(f"{where}: {code} fails the LOINC check digit", file=path.name)
            if code in out:
                raise DataFileError(f"{where}: LOINC {code} listed twice", file=path.name)
            out[code] = entry
    return out


@cache
def analytes() -> dict[str, AnalyteCodes]:
    return load_analytes()


def _per_area_unit(unit: str) -> str:
    """eGFR spellings ('mL/min/1.73m2', 'ml/min/1.73 m2') as UCUM; plain 'mL/min' stays as is."""
    compact = normalise(unit).replace(" ", "").replace("{", "").replace("}", "").replace("_", "")
    return PER_AREA_UNIT if compact.lower() in ("ml/min/1.73m2", "ml/min/1.73m^2") else unit


def resolve_result(codings: Iterable[Coding], unit: str) -> LabResolution | None:
    """The code our checks use for a result with these codings and unit, or ``None`` when no
    LOINC coding is known (the result is then kept under its own code, or none)."""
    from tools.labs.ranges import range_for  # tools.labs imports the FHIR tools: import late

    loincs = [c.code for c in codings if c.system == LOINC and is_valid_loinc(c.code)]
    table = analytes()
    for code in loincs:
        entry = table.get(code)
        if entry is None:
            continue
        read_unit = unit
        if entry.per_area:
            read_unit = _per_area_unit(unit)
            if normalise(read_unit) == "mL/min":
                read_unit = PER_AREA_UNIT
        own = range_for(code)
        keep = any(c.loinc == code for c in entry.codes) or (own is not None and own.loinc == code)
        target = code if keep else entry.code_for(read_unit)
        alias = next((a for a in entry.aliases if a.loinc == code), None)
        return LabResolution(
            loinc=target,
            analyte=entry.analyte,
            reported_loinc="" if target == code else code,
            unit=read_unit,
            reported_unit="" if read_unit == unit else unit,
            alias=None if keep else alias,
        )
    return None


# "0-220", "3.5 - 5.2", "0.40-0.52", "<5", "<10.0", ">60", "<= 5", "≥ 60": a laboratory's range
# as text (FHIR Observation.referenceRange.text). Anything else ("NA", "Negative") is not a range.
_NUMBER = r"(\d+(?:\.\d+)?)"
_BETWEEN = re.compile(rf"^\s*{_NUMBER}\s*(?:-|–|to)\s*{_NUMBER}\s*$")
_BOUND = re.compile(rf"^\s*(<=|>=|<|>|≤|≥)\s*{_NUMBER}\s*$")


def range_from_text(text: str) -> tuple[float | None, float | None] | None:
    """(low, high) of a range written as text, or ``None`` when the text is not a range."""
    m = _BETWEEN.match(text)
    if m:
        low, high = float(m.group(1)), float(m.group(2))
        return (low, high) if low <= high else None
    m = _BOUND.match(text)
    if m:
        value = float(m.group(2))
        return (None, value) if m.group(1) in ("<", "<=", "≤") else (value, None)
    return None
