"""Where a ward analyte is heading: direction, rate and when a sourced threshold would be crossed.

For creatinine, potassium, sodium, haemoglobin, INR and lactate, the results inside the analyte's
clinically relevant window (before the latest result) are fitted with a least-squares line. The
answer is the direction and rate with its 95% confidence interval and, if the line continues,
when it would cross the analyte's threshold (potassium 6.0, KDIGO stage 3...). It is always an
extrapolation of the results it names, never a prediction: with fewer than three results, or a
slope whose interval includes zero, no crossing time is given. Series come from
``tools.labs.trends.lab_trends`` (its unit handling and exclusions).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from math import sqrt
from typing import Literal

from pydantic import BaseModel, ConfigDict

from core.domain import PatientRecord
from tools.labs.trends import LabTrend, TrendPoint, lab_trends
from tools.units import UnitMismatch, convert

Direction = Literal["rising", "falling", "no clear trend"]
_HOURS_PER_DAY = 24.0
# Two-sided 95% Student t quantiles by degrees of freedom (standard tables); 1.96 beyond 30.
_T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
        9: 2.262, 10: 2.228, 12: 2.179, 15: 2.131, 20: 2.086, 30: 2.042}  # fmt: skip


@dataclass(frozen=True)
class Threshold:
    """A level the ward acts on, in ``unit``, crossed going ``direction``."""

    value: float
    unit: str
    direction: Literal["rising", "falling"]
    meaning: str
    source: str


@dataclass(frozen=True)
class Watch:
    """One analyte the trajectory follows: its LOINC, window and thresholds."""

    loinc: str
    name: str
    window_hours: float
    thresholds: tuple[Threshold, ...]
    conversion_loinc: str = ""


UKKA_2020 = "UK Kidney Association guideline: treatment of acute hyperkalaemia in adults (2020)"
SPASOVSKI_2014 = "Spasovski G et al. Hyponatraemia guideline. Eur J Endocrinol 2014;170:G1-G47"
NICE_NG24 = (
    "NICE NG24 Blood transfusion (2015), recommendation 1.2.2 (restrictive threshold 70 g/L)"
)
BSH_2011 = "Keeling D et al. BSH warfarin guideline, 4th ed. Br J Haematol 2011;154:311-324"
SSC_2018 = (
    "Levy MM et al. Surviving Sepsis Campaign bundle: 2018 update. Crit Care Med 2018;46:997-1000"
)
KDIGO_AKI = (
    "KDIGO Clinical Practice Guideline for AKI. Kidney Int Suppl 2012;2:1-138, Table 2 (stage 3)"
)

# Windows: the span over which each analyte's guideline judges change (KDIGO AKI: 7 days;
# potassium, haemoglobin and INR: 3 days; sodium: 48 hours of correction; lactate: 24 hours).
WATCHES: tuple[Watch, ...] = (
    Watch("2823-3", "potassium", 72.0, (
        Threshold(6.0, "mmol/L", "rising", "moderate hyperkalaemia", UKKA_2020),
        Threshold(6.5, "mmol/L", "rising", "severe hyperkalaemia", UKKA_2020),
    )),
    Watch("2951-2", "sodium", 48.0, (
        Threshold(125.0, "mmol/L", "falling", "profound hyponatraemia", SPASOVSKI_2014),
    )),
    Watch("718-7", "haemoglobin", 72.0, (
        Threshold(70.0, "g/L", "falling", "the restrictive transfusion threshold", NICE_NG24),
    )),
    Watch("6301-6", "INR", 72.0, (
        Threshold(8.0, "{INR}", "rising", "INR above 8: vitamin K even without bleeding", BSH_2011),
    )),
    Watch("2524-7", "lactate", 24.0, (
        Threshold(4.0, "mmol/L", "rising", "30 mL/kg crystalloid (hour-1 bundle)", SSC_2018),
    )),
    Watch("2160-0", "creatinine", 168.0, ()),  # thresholds from the baseline: see _kdigo_stage_3
)  # fmt: skip


class Crossing(BaseModel):
    model_config = ConfigDict(frozen=True)

    threshold: float
    unit: str
    meaning: str
    source: str
    hours: float | None = None
    hours_range: tuple[float, float] | None = None
    note: str = ""


class Trajectory(BaseModel):
    """One analyte's course over its window, and the extrapolation it allows."""

    model_config = ConfigDict(frozen=True)

    loinc: str
    name: str
    unit: str
    window_hours: float
    points: tuple[TrendPoint, ...]
    direction: Direction
    rate_per_day: float | None = None
    rate_ci_per_day: tuple[float, float] | None = None
    crossings: tuple[Crossing, ...] = ()
    statement: str = ""

    @property
    def refs(self) -> tuple[str, ...]:
        return tuple(p.ref for p in self.points)


@dataclass(frozen=True)
class _Fit:
    slope: float  # per hour
    ci: tuple[float, float] | None  # per hour, 95%


def _t95(df: int) -> float:
    if df > 30:
        return 1.96
    return _T95.get(df) or _T95[max(k for k in _T95 if k <= df)]


def _fit(points: tuple[TrendPoint, ...], latest: datetime) -> _Fit:
    """Least-squares slope of value on hours, with its 95% interval from n >= 3 results."""
    hours = [((p.effective or latest) - latest).total_seconds() / 3600.0 for p in points]
    values = [p.value for p in points]
    n = len(points)
    mean_t, mean_y = sum(hours) / n, sum(values) / n
    sxx = sum((t - mean_t) ** 2 for t in hours)
    slope = sum((t - mean_t) * (y - mean_y) for t, y in zip(hours, values, strict=True)) / sxx
    if n < 3:
        return _Fit(slope, None)
    intercept = mean_y - slope * mean_t
    ssr = sum((y - intercept - slope * t) ** 2 for t, y in zip(hours, values, strict=True))
    half = _t95(n - 2) * sqrt(ssr / (n - 2)) / sqrt(sxx)
    return _Fit(slope, (slope - half, slope + half))


def _windowed(trend: LabTrend, window_hours: float) -> tuple[TrendPoint, ...]:
    times = [p.effective for p in trend.points if p.effective is not None]
    if not times:
        return ()
    start = times[-1] - timedelta(hours=window_hours)
    return tuple(p for p in trend.points if p.effective is not None and p.effective >= start)


def _direction(fit: _Fit) -> Direction:
    if fit.ci is not None and fit.ci[0] <= 0 <= fit.ci[1]:
        return "no clear trend"
    return "rising" if fit.slope > 0 else "falling"


def _crossing(
    t: Threshold, latest: float, fit: _Fit, direction: Direction, horizon: float
) -> Crossing:
    base = Crossing(threshold=t.value, unit=t.unit, meaning=t.meaning, source=t.source)
    beyond = latest >= t.value if t.direction == "rising" else latest <= t.value
    if beyond:
        return base.model_copy(update={"note": "already reached"})
    if direction != t.direction or fit.ci is None:
        why = "fewer than three results" if fit.ci is None else f"the trend is not {t.direction}"
        return base.model_copy(update={"note": f"no crossing time: {why}"})
    hours = (t.value - latest) / fit.slope
    bounds = sorted((t.value - latest) / s for s in fit.ci)
    if hours > horizon:
        return base.model_copy(update={"note": f"not within {horizon:g} h if the trend continues"})
    return base.model_copy(update={"hours": hours, "hours_range": (bounds[0], bounds[1])})


def _kdigo_stage_3(points: tuple[TrendPoint, ...], unit: str) -> tuple[Threshold, ...]:
    """Creatinine 3 x the lowest value of the window, or 4.0 mg/dL, whichever is lower."""
    try:
        absolute = convert(4.0, "mg/dL", unit, "2160-0")
    except UnitMismatch:
        return ()
    level = min(3.0 * min(p.value for p in points), absolute)
    meaning = "KDIGO AKI stage 3: 3 x the lowest creatinine of 7 days, or 4.0 mg/dL"
    return (Threshold(round(level, 2), unit, "rising", meaning, KDIGO_AKI),)


def trajectory(record: PatientRecord, watch: Watch) -> Trajectory | None:
    """The analyte's trajectory over its window; None with fewer than two timed results."""
    trend = lab_trends(record, watch.loinc)
    points = _windowed(trend, watch.window_hours)
    if len(points) < 2 or points[0].effective == points[-1].effective:
        return None
    latest = points[-1]
    fit = _fit(points, latest.effective or datetime.min)
    direction = _direction(fit)
    thresholds = watch.thresholds or _kdigo_stage_3(points, trend.unit)
    crossings = tuple(
        _crossing(t, latest.value, fit, direction, watch.window_hours)
        for t in (_in_unit(t, trend.unit, watch.loinc) for t in thresholds)
        if t is not None
    )
    result = Trajectory(
        loinc=watch.loinc,
        name=watch.name,
        unit=trend.unit,
        window_hours=watch.window_hours,
        points=points,
        direction=direction,
        rate_per_day=fit.slope * _HOURS_PER_DAY,
        rate_ci_per_day=(fit.ci[0] * _HOURS_PER_DAY, fit.ci[1] * _HOURS_PER_DAY)
        if fit.ci
        else None,
        crossings=crossings,
    )
    return result.model_copy(update={"statement": describe(result)})


def _in_unit(t: Threshold, unit: str, loinc: str) -> Threshold | None:
    """The threshold in the series' unit (g/L -> g/dL...), None when it cannot be converted."""
    try:
        value = convert(t.value, t.unit, unit, loinc)
    except UnitMismatch:
        return None
    return Threshold(round(value, 3), unit, t.direction, t.meaning, t.source)


def ward_trajectories(record: PatientRecord) -> list[Trajectory]:
    """Every watched analyte with at least two timed results in its window."""
    found = (trajectory(record, w) for w in WATCHES)
    return [t for t in found if t is not None]


def describe(t: Trajectory) -> str:
    """The sentence a ward reads: direction, rate, results, and the labelled extrapolation."""
    refs = ", ".join(t.refs)
    unit = t.unit.strip("{}")
    head = f"{t.name} {t.direction}"
    if t.rate_per_day is not None:
        head += f", {t.rate_per_day:+.2g} {unit}/day"
    if t.rate_ci_per_day:
        head += f" (95% CI {t.rate_ci_per_day[0]:+.2g} to {t.rate_ci_per_day[1]:+.2g})"
    head += f" over {len(t.points)} results in the last {t.window_hours:g} h ({refs})"
    parts = [head]
    for c in t.crossings:
        if c.hours is not None and c.hours_range is not None:
            parts.append(
                f"if this trend continues, {c.threshold:g} {unit} ({c.meaning}; {c.source}) "
                f"would be reached in about {c.hours:.0f} h ({c.hours_range[0]:.0f}-"
                f"{c.hours_range[1]:.0f} h): an extrapolation, not a prediction"
            )
        elif c.note == "already reached":
            parts.append(f"already at or beyond {c.threshold:g} {unit} ({c.meaning})")
    return "; ".join(parts)
