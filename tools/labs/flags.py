"""Flag each result against its reference interval and critical limits: N, L, H, LL, HH.

The interval is the reporting laboratory's own when the result carries one (FHIR
``Observation.referenceRange``: each laboratory validates its intervals for its methods and
population, so it wins over a textbook's), else the shipped interval for the patient's sex and
age (``data/labs/reference_ranges.yaml``). Critical and plausibility limits are always the
shipped, sourced ones: laboratories do not send them in ``referenceRange``. The laboratory's own
flag (``Observation.interpretation``) is kept beside ours and named when they disagree.

Limits are converted into the *result's* unit (the value is shown as measured, never rewritten).
The interval is exclusive (a value equal to a bound is normal) and critical limits are inclusive
("at or beyond"), which is how both the NEWS2 bands and notification limits are written. Results
that cannot be interpreted are still reported, with a status saying why: no reference range, no
numeric value, a unit that cannot be converted, or a value outside plausibility limits.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from core.domain import Observation, PatientRecord
from tools.labs.ranges import Interval, ReferenceRange, range_for
from tools.units import UnitMismatch, convert

FlagCode = Literal[
    "N", "L", "H", "LL", "HH", "implausible", "unit_mismatch", "no_range", "non_numeric"
]
# Observation statuses whose value is not a result (FHIR R4 ObservationStatus value set).
_NOT_A_RESULT = frozenset({"entered-in-error", "cancelled", "registered"})


class LabFlag(BaseModel):
    """One result, flagged. Numbers are in ``unit``, the result's own unit."""

    model_config = ConfigDict(frozen=True)

    ref: str
    loinc: str
    name: str
    value: float | None
    unit: str
    effective: datetime | None
    flag: FlagCode
    low: float | None = None
    high: float | None = None
    critical_low: float | None = None
    critical_high: float | None = None
    source: str = ""
    critical_source: str = ""
    detail: str = ""
    lab_flag: str = ""
    """The laboratory's own flag (HL7 v3 ObservationInterpretation code), if it sent one."""

    @property
    def abnormal(self) -> bool:
        return self.flag not in ("N", "no_range", "non_numeric")


def _in_unit(limit: float | None, rr: ReferenceRange, unit: str) -> float | None:
    return None if limit is None else round(convert(limit, rr.unit, unit, rr.conversion_loinc), 6)


def _classify(
    v: float, lo: float | None, hi: float | None, clo: float | None, chi: float | None
) -> FlagCode:
    if clo is not None and v <= clo:
        return "LL"
    if chi is not None and v >= chi:
        return "HH"
    if lo is not None and v < lo:
        return "L"
    if hi is not None and v > hi:
        return "H"
    return "N"


LAB_RANGE_SOURCE = "the reporting laboratory's reference range (FHIR Observation.referenceRange)"
_COMPARABLE_FLAGS = frozenset({"N", "L", "H", "LL", "HH"})


def _flag(obs: Observation, name: str, flag: FlagCode, **extra: Any) -> LabFlag:
    detail = str(extra.pop("detail", ""))
    lab = obs.lab_interpretation
    if lab in _COMPARABLE_FLAGS and flag in _COMPARABLE_FLAGS and lab != flag:
        detail = "; ".join(filter(None, [detail, f"the laboratory flagged it {lab}"]))
    return LabFlag(
        ref=obs.ref,
        loinc=obs.loinc,
        name=name,
        value=obs.value,
        unit=obs.unit,
        effective=obs.effective,
        flag=flag,
        lab_flag=lab,
        detail=detail,
        **extra,
    )


class _Bounds(BaseModel):
    """An interval in the result's unit, and where it comes from."""

    low: float | None
    high: float | None
    source: str
    note: str = ""


def _laboratory_bounds(obs: Observation) -> tuple[_Bounds | None, str]:
    """The laboratory's interval in the result's unit, or ``None`` and why it cannot be used."""
    given = obs.lab_range
    if given is None or (given.low is None and given.high is None):
        return None, ""
    unit = given.unit or obs.unit
    try:
        low, high = (
            None if bound is None else round(convert(bound, unit, obs.unit, obs.loinc), 6)
            for bound in (given.low, given.high)
        )
    except UnitMismatch:
        why = f"the laboratory's range is in {unit}, which cannot be compared with {obs.unit}"
        return None, why
    source = f"{LAB_RANGE_SOURCE}{f': {given.text}' if given.text else ''}"
    return _Bounds(low=low, high=high, source=source), ""


LAB_FLAG_SOURCE = "the reporting laboratory's flag (FHIR Observation.interpretation)"


def _laboratory_only(obs: Observation, name: str, lab: _Bounds | None, why: str) -> LabFlag:
    """A result we hold no usable shipped range for: the laboratory's own range, else its own
    H/L flag, else reported as having no range (``why``)."""
    assert obs.value is not None
    if lab is not None:
        flag = _classify(obs.value, lab.low, lab.high, None, None)
        return _flag(obs, name, flag, low=lab.low, high=lab.high, source=lab.source, detail=why)
    if obs.lab_interpretation in _COMPARABLE_FLAGS:
        code = obs.lab_interpretation
        return _flag(obs, name, code, source=LAB_FLAG_SOURCE, detail=why)  # type: ignore[arg-type]
    return _flag(obs, name, "no_range", detail=why)


def flag_observation(obs: Observation, sex: str, age: int | None) -> LabFlag:
    """Flag one observation for a patient of this sex and age."""
    rr = range_for(obs.loinc) if obs.loinc else None
    # A result counted under another code of its analyte keeps the laboratory's own name for it.
    name = rr.name if rr and not obs.reported_loinc else obs.display
    if obs.value is None:
        return _flag(obs, name, "non_numeric", detail=obs.value_text)
    lab, lab_unusable = _laboratory_bounds(obs)
    if rr is None:
        why = "unknown code" if obs.unknown_code else f"no reference range for LOINC {obs.loinc}"
        return _laboratory_only(obs, name, lab, "; ".join(filter(None, [why, lab_unusable])))
    try:
        return _flag_with_range(
            obs, obs.value, rr, rr.interval_for(sex, age), lab=lab, lab_unusable=lab_unusable
        )
    except UnitMismatch as exc:
        if lab is not None:  # the laboratory's range is in the result's unit: it still applies
            why = f"shipped limits not applicable in {obs.unit or '(no unit)'}"
            return _laboratory_only(obs, name, lab, why)
        return _flag(obs, name, "unit_mismatch", source=rr.source, detail=str(exc))


def _flag_with_range(
    obs: Observation,
    value: float,
    rr: ReferenceRange,
    interval: Interval | None,
    *,
    lab: _Bounds | None,
    lab_unusable: str,
) -> LabFlag:
    unit = obs.unit
    plaus = rr.plausible
    if plaus is not None:
        plo, phi = _in_unit(plaus.low, rr, unit), _in_unit(plaus.high, rr, unit)
        if (plo is not None and value < plo) or (phi is not None and value > phi):
            detail = f"outside plausibility limits {plo}-{phi} {unit}: {plaus.why}"
            slip = _unit_slip(value, (plo, phi), interval, rr, unit)
            detail = f"{detail}{f'; {slip}' if slip else ''}"
            return _flag(obs, rr.name, "implausible", source=plaus.source, detail=detail)
    if lab is not None:
        bounds = lab
    else:
        shipped = rr.interval_source(interval) if interval else rr.source
        bounds = _Bounds(
            low=_in_unit(interval.low if interval else None, rr, unit),
            high=_in_unit(interval.high if interval else None, rr, unit),
            source=shipped,
            note="" if interval else "no interval for this sex/age; critical limits only",
        )
    crit = rr.critical
    clo = _in_unit(crit.low if crit else None, rr, unit)
    chi = _in_unit(crit.high if crit else None, rr, unit)
    return _flag(
        obs,
        rr.name,
        _classify(value, bounds.low, bounds.high, clo, chi),
        low=bounds.low,
        high=bounds.high,
        critical_low=clo,
        critical_high=chi,
        source=bounds.source,
        critical_source=crit.source if crit else "",
        detail="; ".join(filter(None, [bounds.note, lab_unusable])),
    )


# A result off by exactly a power of ten (g/L sent as g/dL: total protein 70 "g/dL") is a unit
# slip, not a patient: say which reading would be measurable, so the ward verifies, not treats.
_SLIPS = (10.0, 0.1, 1000.0, 0.001)


def _unit_slip(
    value: float, plausible: tuple[float | None, float | None], interval: Interval | None,
    rr: ReferenceRange, unit: str,
) -> str:  # fmt: skip
    """The power-of-ten reading closest to the reference interval that is plausible, if any."""
    plo, phi = plausible
    reads = [
        value / f for f in _SLIPS
        if (plo is None or value / f >= plo) and (phi is None or value / f <= phi)
    ]  # fmt: skip
    if not reads or value <= 0:
        return ""
    bounds = [_in_unit(b, rr, unit) for b in (interval.low, interval.high)] if interval else []
    middle = [b for b in bounds if b]
    centre = math.prod(middle) ** (1 / len(middle)) if middle else reads[0]
    read = min(reads, key=lambda r: abs(math.log(r / centre)))
    return f"read as {read:.3g} {unit} it would be measurable: a unit slip (x{value / read:g})?"


def lab_flags(record: PatientRecord, *, abnormal_only: bool = False) -> list[LabFlag]:
    """Every result in the record flagged, oldest first; nothing is dropped unless
    ``abnormal_only`` asks for the abnormal and uninterpretable ones only. Results whose status
    says they are not results (entered-in-error, cancelled) are skipped."""
    out: list[LabFlag] = []
    for obs in sorted(record.observations, key=observation_time):
        if obs.status in _NOT_A_RESULT:
            continue
        age = record.patient.age_on(obs.effective.date()) if obs.effective else None
        flag = flag_observation(obs, record.patient.sex, age)
        if not abnormal_only or flag.abnormal:
            out.append(flag)
    return out


_EPOCH = datetime(1, 1, 1, tzinfo=UTC)


def observation_time(obs: Observation) -> datetime:
    """Sort key: undated results first."""
    return obs.effective or _EPOCH
