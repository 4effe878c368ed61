"""KDIGO 2012 urine output criteria (Kidney Int Suppl 2:1-138, section 2.1, Table 2).

Urine output is given as timed collections (hourly charting or longer periods). A criterion
"< 0.5 mL/kg/h for 6 h" is met when consecutive, gap-free collections each run below that rate
for at least 6 hours in total: the stricter, per-collection reading of the guideline (averaging
over a window would let one large void mask hours of oliguria).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Self

from pydantic import Field, model_validator

from core.domain import Frozen
from tools.calculators.base import CalcInput

# Collections closer than this are treated as contiguous (charting times are rounded).
_CONTIGUITY = timedelta(minutes=5)
_MAX_PERIOD = timedelta(hours=24)


class UrineOutputPeriod(CalcInput):
    start: datetime
    end: datetime
    volume_ml: float = Field(ge=0, le=20_000, description="urine volume collected in the period")
    ref: str = Field(default="", description="citation key, e.g. 'Observation/uo-7'")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end <= self.start:
            raise ValueError("urine output period must end after it starts")
        if self.end - self.start > _MAX_PERIOD:
            raise ValueError("urine output periods longer than 24 h cannot be staged")
        return self

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600.0


class UrineStage(Frozen):
    stage: int = 0
    hours_below_0_5: float = 0.0
    hours_below_0_3: float = 0.0
    hours_anuric: float = 0.0
    refs: tuple[str, ...] = ()
    criteria: tuple[str, ...] = ()


def check_periods(periods: Sequence[UrineOutputPeriod]) -> None:
    """Raise ValueError when collections overlap: their volumes would be counted twice."""
    ordered = sorted(periods, key=lambda p: p.start)
    for before, after in pairwise(ordered):
        if after.start < before.end - _CONTIGUITY:
            raise ValueError(
                f"urine output periods overlap: {before.start.isoformat()}-"
                f"{before.end.isoformat()} and {after.start.isoformat()}"
            )


def _longest_run(
    periods: Sequence[UrineOutputPeriod], below: Callable[[UrineOutputPeriod], bool]
) -> tuple[float, tuple[str, ...]]:
    best: tuple[float, tuple[str, ...]] = (0.0, ())
    hours, refs = 0.0, list[str]()
    previous_end: datetime | None = None
    for period in periods:
        contiguous = previous_end is not None and abs(period.start - previous_end) <= _CONTIGUITY
        if below(period):
            if not contiguous:
                hours, refs = 0.0, []
            hours += period.hours
            refs.append(period.ref)
            if hours > best[0]:
                best = (hours, tuple(refs))
        else:
            hours, refs = 0.0, []
        previous_end = period.end
    return round(best[0], 2), best[1]


def urine_output_stage(periods: Sequence[UrineOutputPeriod], weight_kg: float) -> UrineStage:
    """The worst KDIGO urine-output stage met anywhere in the collections."""
    if not periods or weight_kg <= 0:
        return UrineStage()
    ordered = sorted(periods, key=lambda p: p.start)

    def rate(p: UrineOutputPeriod) -> float:
        return p.volume_ml / weight_kg / p.hours

    below_05, refs_05 = _longest_run(ordered, lambda p: rate(p) < 0.5)
    below_03, refs_03 = _longest_run(ordered, lambda p: rate(p) < 0.3)
    anuric, refs_0 = _longest_run(ordered, lambda p: p.volume_ml == 0)
    stage, criteria, refs = 0, [], refs_05
    if anuric >= 12:  # KDIGO stage 3: anuria >= 12 h
        stage, refs = 3, refs_0
        criteria.append(f"anuria for {anuric:g} h")
    elif below_03 >= 24:  # KDIGO stage 3: < 0.3 mL/kg/h for >= 24 h
        stage, refs = 3, refs_03
        criteria.append(f"urine < 0.3 mL/kg/h for {below_03:g} h")
    elif below_05 >= 12:  # KDIGO stage 2: < 0.5 mL/kg/h for >= 12 h
        stage = 2
        criteria.append(f"urine < 0.5 mL/kg/h for {below_05:g} h")
    elif below_05 >= 6:  # KDIGO stage 1: < 0.5 mL/kg/h for 6-12 h
        stage = 1
        criteria.append(f"urine < 0.5 mL/kg/h for {below_05:g} h")
    return UrineStage(
        stage=stage,
        hours_below_0_5=below_05,
        hours_below_0_3=below_03,
        hours_anuric=anuric,
        refs=tuple(r for r in refs if r) if stage else (),
        criteria=tuple(criteria),
    )
