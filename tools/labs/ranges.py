"""Reference intervals, critical limits and plausibility limits, keyed by LOINC.

Loaded from ``data/labs/reference_ranges.yaml``. Loading refuses a file in which any interval or
limit lacks a resolvable source: a number nobody can trace is not shipped.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.errors import DataFileError
from core.settings import SHIPPED_DATA

RANGES_FILE = SHIPPED_DATA / "labs" / "reference_ranges.yaml"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Interval(_Model):
    sex: Literal["male", "female"] | None = None
    age_min: float | None = None
    age_max: float | None = None
    low: float | None = None
    high: float | None = None
    source: str = Field(default="", description="cited source; defaults to the analyte's")

    def matches(self, sex: str, age: int | None) -> bool:
        if self.sex is not None and self.sex != sex:
            return False
        if age is None:
            return self.age_min is None and self.age_max is None
        return (self.age_min is None or age >= self.age_min) and (
            self.age_max is None or age <= self.age_max
        )

    @property
    def specificity(self) -> int:
        return (self.sex is not None) + (self.age_min is not None or self.age_max is not None)


class Limits(_Model):
    low: float | None = None
    high: float | None = None
    source: str
    why: str = Field(
        default="specimen or entry error",
        description="what a result beyond these limits is (said with the 'verify' finding)",
    )


class ReferenceRange(_Model):
    loinc: str
    name: str
    unit: str = Field(description="UCUM unit the numbers below are expressed in")
    category: str = ""
    source: str
    intervals: tuple[Interval, ...]
    aliases: tuple[str, ...] = ()
    convert_as: str = Field(
        default="", description="LOINC whose labunits factor applies (same analyte, other specimen)"
    )
    critical: Limits | None = None
    plausible: Limits | None = None

    @model_validator(mode="after")
    def _has_bounds(self) -> ReferenceRange:
        if not self.intervals or any(i.low is None and i.high is None for i in self.intervals):
            raise ValueError("every interval needs a low or a high")
        return self

    def interval_for(self, sex: str, age: int | None) -> Interval | None:
        """The most specific interval matching the patient (sex, then age), if any."""
        matching = [i for i in self.intervals if i.matches(sex, age)]
        return max(matching, key=lambda i: i.specificity) if matching else None

    @property
    def conversion_loinc(self) -> str:
        return self.convert_as or self.loinc

    def interval_source(self, interval: Interval) -> str:
        return interval.source or self.source


def _cite(target: dict[str, Any], sources: dict[str, str], where: str, required: bool) -> None:
    """Replace a source key by its full citation, in place; an unknown key always fails."""
    key = target.get("source")
    if key is None and not required:
        return  # an interval without its own source uses the analyte's
    if key not in sources:
        raise DataFileError(f"{where}: source {key!r} is not in `sources`", file=str(RANGES_FILE))
    target["source"] = sources[key]


def _resolve_sources(raw: dict[str, Any], sources: dict[str, str], where: str) -> None:
    _cite(raw, sources, where, required=True)
    for interval in raw.get("intervals") or ():
        _cite(interval, sources, where, required=False)
    for key in ("critical", "plausible"):
        if isinstance(raw.get(key), dict):
            _cite(raw[key], sources, f"{where}.{key}", required=True)


def load_ranges(path: Path = RANGES_FILE) -> dict[str, ReferenceRange]:
    """Every reference range, by LOINC and by alias LOINC."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DataFileError(str(exc), file=str(path)) from exc
    sources: dict[str, str] = {k: " ".join(str(v).split()) for k, v in doc["sources"].items()}
    out: dict[str, ReferenceRange] = {}
    for i, raw in enumerate(doc["analytes"]):
        where = f"analytes[{i}] ({raw.get('loinc', '?')})"
        _resolve_sources(raw, sources, where)
        try:
            rr = ReferenceRange.model_validate(raw)
        except ValidationError as exc:
            raise DataFileError(f"{where}: {exc}", file=str(path)) from exc
        for code in (rr.loinc, *rr.aliases):
            if code in out:
                raise DataFileError(f"{where}: LOINC {code} defined twice", file=str(path))
            out[code] = rr
    return out


@cache
def reference_ranges() -> dict[str, ReferenceRange]:
    """The shipped ranges, loaded once per process."""
    return load_ranges()


def range_for(loinc: str) -> ReferenceRange | None:
    return reference_ranges().get(loinc)


def same_analyte(loinc: str) -> frozenset[str]:
    """``loinc`` and every code that measures the same analyte: a range's LOINC and its aliases
    (creatinine 2160-0 in mg/dL and 14682-9 in umol/L) and the analyte's codes and aliases in
    ``data/resolve/loinc_analytes.yaml`` (eGFR 33914-3, 98979-8, 62238-1...), joined: an eGFR on
    record under any of them is an eGFR on record. Just ``loinc`` when nothing lists it."""
    return _analyte_groups().get(loinc, frozenset({loinc}))


@cache
def _analyte_groups() -> dict[str, frozenset[str]]:
    """Each listed code -> its analyte's codes: the groups of both tables, merged where they
    share a code (so every code of a group maps to the same set)."""
    from tools.resolve.labs import analytes  # tools.resolve reads the FHIR tools: import late

    groups: list[set[str]] = [{rr.loinc, *rr.aliases} for rr in reference_ranges().values()]
    groups += [
        {*(c.loinc for c in entry.codes), *(a.loinc for a in entry.aliases)}
        for entry in analytes().values()
    ]
    merged: list[set[str]] = []
    for group in groups:
        joined = set(group)
        for m in [m for m in merged if m & group]:
            merged.remove(m)
            joined |= m
        merged.append(joined)
    return {code: frozenset(group) for group in merged for code in group}
