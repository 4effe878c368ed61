"""Trajectories: fitted direction and rate with their interval, and labelled extrapolations.

Every expected number is worked by hand (HAND) from the least-squares line through the results.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from core.domain import Observation, Patient, PatientRecord
from tools.labs.trajectory import WATCHES, trajectory, ward_trajectories

T0 = datetime(2025, 3, 1, 6, tzinfo=UTC)
POTASSIUM = next(w for w in WATCHES if w.name == "potassium")
CREATININE = next(w for w in WATCHES if w.name == "creatinine")
HAEMOGLOBIN = next(w for w in WATCHES if w.name == "haemoglobin")


def ob(ref: str, loinc: str, value: float, unit: str, hours: float) -> Observation:
    return Observation(
        ref=ref, loinc=loinc, display=loinc, value=value, unit=unit,
        effective=T0 + timedelta(hours=hours),
    )  # fmt: skip


def record(*observations: Observation) -> PatientRecord:
    patient = Patient(ref="Patient/p", id="p", sex="male", birth_date=date(1950, 1, 1))
    return PatientRecord(patient=patient, observations=observations)


def series(prefix: str, loinc: str, unit: str, *values: float) -> tuple[Observation, ...]:
    """One result a day, the first at T0."""
    return tuple(
        ob(f"Observation/{prefix}{i}", loinc, v, unit, i * 24) for i, v in enumerate(values)
    )


def potassium(*values: float) -> PatientRecord:
    return record(*series("k", "2823-3", "mmol/L", *values))


def test_rising_potassium_crosses_six_in_32_hours() -> None:
    # HAND: 5.0, 5.3, 5.6 a day apart: +0.3 mmol/L/day exactly; (6.0 - 5.6) / 0.3 = 1.333 d = 32 h
    t = trajectory(potassium(5.0, 5.3, 5.6), POTASSIUM)
    assert t is not None
    assert t.direction == "rising"
    assert t.rate_per_day == pytest.approx(0.3)
    six = t.crossings[0]
    assert six.threshold == 6.0
    assert six.hours == pytest.approx(32.0)
    assert "extrapolation, not a prediction" in t.statement
    assert "Observation/k0, Observation/k1, Observation/k2" in t.statement
    assert "UK Kidney Association" in t.statement


def test_scattered_results_give_no_clear_trend_and_no_crossing() -> None:
    # HAND: 5.0, 5.5, 5.4 at -48/-24/0 h: slope 9.6 / 1152 = 0.00833/h (+0.2/day); residuals
    # -0.1, +0.2, -0.1 -> SSR 0.06, s 0.245, SE 0.00722/h, t(1) 12.706 -> 95% CI -2.0 to +2.4/day
    t = trajectory(potassium(5.0, 5.5, 5.4), POTASSIUM)
    assert t is not None
    assert t.direction == "no clear trend"
    assert t.rate_per_day == pytest.approx(0.2)
    assert t.rate_ci_per_day is not None
    assert t.rate_ci_per_day[0] == pytest.approx(-2.0, abs=0.01)
    assert t.rate_ci_per_day[1] == pytest.approx(2.4, abs=0.01)
    assert all(c.hours is None for c in t.crossings)
    assert "would be reached" not in t.statement


def test_two_results_give_a_rate_but_no_crossing_time() -> None:
    t = trajectory(potassium(5.0, 5.6), POTASSIUM)
    assert t is not None
    assert t.rate_ci_per_day is None
    assert t.crossings[0].note == "no crossing time: fewer than three results"


def test_results_outside_the_window_are_left_out() -> None:
    # potassium window 72 h: the result 5 days before the latest is not part of the fit
    rec = record(
        ob("Observation/old", "2823-3", 3.0, "mmol/L", -120),
        *series("k", "2823-3", "mmol/L", 5.0, 5.3, 5.6),
    )
    t = trajectory(rec, POTASSIUM)
    assert t is not None
    assert "Observation/old" not in t.refs
    assert t.rate_per_day == pytest.approx(0.3)


def test_crossing_beyond_the_window_is_not_extrapolated() -> None:
    # HAND: +0.05/day from 4.6: 6.0 would take 28 days, beyond the 72-hour window
    t = trajectory(potassium(4.5, 4.55, 4.6), POTASSIUM)
    assert t is not None
    assert t.crossings[0].hours is None
    assert "not within 72 h" in t.crossings[0].note


def test_creatinine_kdigo_stage_3_from_the_lowest_value() -> None:
    # HAND: 1.0, 1.5, 2.0 mg/dL a day apart: stage 3 at 3 x 1.0 = 3.0 mg/dL; +0.5/day -> 48 h
    rec = record(*series("c", "2160-0", "mg/dL", 1.0, 1.5, 2.0))
    t = trajectory(rec, CREATININE)
    assert t is not None
    stage3 = t.crossings[0]
    assert stage3.threshold == 3.0
    assert stage3.hours == pytest.approx(48.0)
    assert "KDIGO" in stage3.source


def test_haemoglobin_threshold_in_the_series_unit() -> None:
    # 70 g/L is 7.0 g/dL; 8.5, 8.0, 7.5 g/dL a day apart reach it in 24 h
    rec = record(*series("h", "718-7", "g/dL", 8.5, 8.0, 7.5))
    t = trajectory(rec, HAEMOGLOBIN)
    assert t is not None
    assert t.direction == "falling"
    assert t.crossings[0].threshold == pytest.approx(7.0)
    assert t.crossings[0].hours == pytest.approx(24.0)


def test_already_beyond_the_threshold_is_said() -> None:
    t = trajectory(potassium(5.8, 6.1, 6.3), POTASSIUM)
    assert t is not None
    assert t.crossings[0].note == "already reached"
    assert "already at or beyond 6 mmol/L" in t.statement


def test_ward_trajectories_skip_single_results() -> None:
    rec = record(ob("Observation/k", "2823-3", 5.0, "mmol/L", 0))
    assert ward_trajectories(rec) == []
