"""Trends of one analyte over the record: baseline, latest, delta, rate per day.

The series is every numeric result for the analyte (its LOINC and the aliases its reference range
lists), in the unit of the latest result. A result whose unit cannot be converted, or whose value
is implausible, is left out of the arithmetic and named in ``excluded`` (never silently dropped).
``baseline`` is the earliest result in the record: the record is the window the ward sees; KDIGO's
own baseline rules live with the AKI calculator.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from core.domain import Observation, PatientRecord
from tools.labs.flags import FlagCode, flag_observation, observation_time
from tools.labs.ranges import range_for, same_analyte
from tools.units import UnitMismatch, convert

_SECONDS_PER_DAY = 86_400
_SKIPPED_STATUSES = frozenset({"entered-in-error", "cancelled", "registered"})


class TrendPoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    ref: str
    effective: datetime | None
    value: float = 0.0
    flag: FlagCode = "N"


class LabTrend(BaseModel):
    """One analyte's course; every number cites the Observation refs in ``points``."""

    model_config = ConfigDict(frozen=True)

    loinc: str
    name: str
    unit: str
    points: tuple[TrendPoint, ...]
    baseline: TrendPoint | None = None
    latest: TrendPoint | None = None
    minimum: TrendPoint | None = None
    maximum: TrendPoint | None = None
    delta: float | None = None
    percent_change: float | None = None
    rate_per_day: float | None = None
    recent_rate_per_day: float | None = Field(
        default=None, description="between the last two results: the current pace"
    )
    excluded: tuple[str, ...] = ()

    @property
    def refs(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p.ref for p in self.points))


ByCode = dict[str, list[tuple[int, Observation]]]
"""A record's usable results grouped by their LOINC code, each with its place in the record."""


def usable_by_code(record: PatientRecord) -> ByCode:
    """One pass over the record: a trend per analyte then reads only its own results (scanning
    every result for every analyte grew as analytes x results on a long admission)."""
    groups: ByCode = {}
    for place, o in enumerate(record.observations):
        if o.loinc and o.value is not None and o.status not in _SKIPPED_STATUSES:
            groups.setdefault(o.loinc, []).append((place, o))
    return groups


def _usable(record: PatientRecord, loinc: str, by_code: ByCode | None = None) -> list[Observation]:
    groups = by_code if by_code is not None else usable_by_code(record)
    chosen = [pair for code in same_analyte(loinc) for pair in groups.get(code, ())]
    # by time, then in record order (as the one-pass filter over the record sorted them)
    chosen.sort(key=lambda pair: (observation_time(pair[1]), pair[0]))
    return [o for _, o in chosen]


def lab_trends(record: PatientRecord, loinc: str, *, by_code: ByCode | None = None) -> LabTrend:
    """The trend of ``loinc`` (and its aliases) in ``record``; empty points when none."""
    obs = _usable(record, loinc, by_code)
    rr = range_for(loinc)
    name = rr.name if rr else (obs[-1].display if obs else loinc)
    if not obs:
        return LabTrend(loinc=loinc, name=name, unit=rr.unit if rr else "", points=())
    unit = obs[-1].unit
    points: list[TrendPoint] = []
    excluded: list[str] = []
    for o in obs:
        age = record.patient.age_on(o.effective.date()) if o.effective else None
        flag = flag_observation(o, record.patient.sex, age)
        if flag.flag in ("implausible", "unit_mismatch") or o.value is None:
            excluded.append(f"{o.ref}: {flag.flag}")
            continue
        try:
            value = convert(o.value, o.unit, unit, rr.conversion_loinc if rr else loinc)
        except UnitMismatch:
            excluded.append(f"{o.ref}: unit {o.unit} not convertible to {unit}")
            continue
        points.append(TrendPoint(ref=o.ref, effective=o.effective, value=value, flag=flag.flag))
    return _summarise(loinc, name, unit, points, excluded)


def _summarise(
    loinc: str, name: str, unit: str, points: list[TrendPoint], excluded: list[str]
) -> LabTrend:
    trend = LabTrend(
        loinc=loinc, name=name, unit=unit, points=tuple(points), excluded=tuple(excluded)
    )
    if not points:
        return trend
    first, last = points[0], points[-1]
    delta = last.value - first.value
    return trend.model_copy(
        update={
            "baseline": first,
            "latest": last,
            "minimum": min(points, key=lambda p: p.value),
            "maximum": max(points, key=lambda p: p.value),
            "delta": delta if len(points) > 1 else None,
            "percent_change": 100.0 * delta / first.value
            if len(points) > 1 and first.value
            else None,
            "rate_per_day": _rate(first, last),
            "recent_rate_per_day": _rate(points[-2], last) if len(points) > 1 else None,
        }
    )


def _rate(a: TrendPoint, b: TrendPoint) -> float | None:
    if a.effective is None or b.effective is None or b.effective <= a.effective:
        return None
    return (b.value - a.value) / ((b.effective - a.effective).total_seconds() / _SECONDS_PER_DAY)


def course(t: LabTrend) -> str:
    """The course in words that match the numbers: "rising", or "rising overall, falling since
    the peak" when the latest result is below the series' maximum (and the mirror for falling).
    Empty when there is no change to describe."""
    if t.delta is None or t.latest is None or t.minimum is None or t.maximum is None:
        return ""
    if t.delta == 0:
        return "unchanged overall"
    if t.delta > 0:
        turned = t.maximum.value > t.latest.value and t.maximum.ref != t.latest.ref
        return "rising overall, falling since the peak" if turned else "rising"
    turned = t.minimum.value < t.latest.value and t.minimum.ref != t.latest.ref
    return "falling overall, rising since the low point" if turned else "falling"


def all_trends(record: PatientRecord, *, min_points: int = 2) -> list[LabTrend]:
    """A trend for every analyte measured at least ``min_points`` times, by LOINC order."""
    seen: dict[str, None] = {}
    taken: set[str] = set()  # one trend per analyte, though it has codes in two ranges (eGFR)
    for o in record.observations:
        if o.loinc and o.value is not None and o.loinc not in taken:
            rr = range_for(o.loinc)
            seen.setdefault(rr.loinc if rr else o.loinc, None)
            taken |= same_analyte(o.loinc)
    by_code = usable_by_code(record)
    trends = (lab_trends(record, code, by_code=by_code) for code in sorted(seen))
    return [t for t in trends if len(t.points) >= min_points]
