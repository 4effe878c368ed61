"""Reference ranges (sourced, checked against published values), unit conversion, flags, trends."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from core.domain import LabRange, Observation, Patient, PatientRecord
from core.errors import DataFileError
from tools.labs.findings import lab_findings
from tools.labs.flags import LAB_RANGE_SOURCE, flag_observation, lab_flags
from tools.labs.ranges import load_ranges, range_for, reference_ranges
from tools.labs.trends import course, lab_trends
from tools.units import UnitMismatch, convert, written_unit

T0 = datetime(2025, 3, 1, 6, tzinfo=UTC)


def ob(
    ref: str, loinc: str, value: float | None, unit: str, hours: float = 0, **kw: object
) -> Observation:
    return Observation(
        ref=ref,
        loinc=loinc,
        display=loinc,
        value=value,
        unit=unit,
        effective=T0 + timedelta(hours=hours),
        **kw,
    )


def record(*observations: Observation, sex: str = "male") -> PatientRecord:
    patient = Patient(ref="Patient/p", id="p", sex=sex, birth_date=date(1950, 1, 1))
    return PatientRecord(patient=patient, observations=observations)


# --- the range table ------------------------------------------------------------------------


def test_at_least_sixty_analytes_each_with_a_cited_source() -> None:
    analytes = {r.loinc: r for r in reference_ranges().values()}
    assert len(analytes) >= 60
    for rr in analytes.values():
        for interval in rr.intervals:
            cited = rr.interval_source(interval)
            assert re.search(r"(19|20)\d\d", cited), (rr.loinc, cited)
        for limits in (rr.critical, rr.plausible):
            if limits is not None:
                assert re.search(r"(19|20)\d\d", limits.source), (rr.loinc, limits.source)


def test_a_range_without_a_source_refuses_to_load(tmp_path: Path) -> None:
    bad = tmp_path / "ranges.yaml"
    bad.write_text(
        "sources: {a: 'Some book, 2020'}\n"
        "analytes:\n"
        "  - {loinc: '2823-3', name: K, unit: mmol/L, source: a,\n"
        "     intervals: [{low: 3.5, high: 5}], critical: {low: 2.8}}\n",
        encoding="utf-8",
    )
    with pytest.raises(DataFileError, match="critical: source None"):
        load_ranges(bad)
    bad.write_text(
        "sources: {}\nanalytes:\n"
        "  - {loinc: '2823-3', name: K, unit: mmol/L, intervals: [{low: 3.5}]}\n",
        encoding="utf-8",
    )
    with pytest.raises(DataFileError, match="source None"):
        load_ranges(bad)


# Published values, typed here independently of the YAML: (LOINC, sex, low, high, source words).
PUBLISHED = [
    # Harrison's 21e appendix, clinical chemistry / haematology tables
    ("2951-2", "male", 136, 146, "Harrison"),
    ("2823-3", "female", 3.5, 5.0, "Harrison"),
    ("2160-0", "male", 0.6, 1.2, "Harrison"),
    ("2160-0", "female", 0.5, 0.9, "Harrison"),
    ("718-7", "male", 13.3, 16.2, "Harrison"),
    ("718-7", "female", 12.0, 15.8, "Harrison"),
    ("777-3", "male", 165, 415, "Harrison"),
    # NEWS2 (RCP 2017) score-0 bands
    ("9279-1", "male", 12, 20, "NEWS"),
    ("8867-4", "female", 51, 90, "NEWS"),
    # KDIGO 2012 GFR category G3a starts below 60
    ("98979-8", "male", 60, None, "KDIGO"),
    # ATP III: total cholesterol desirable <200 mg/dL
    ("2093-3", "female", None, 200, "ATP III"),
]


@pytest.mark.parametrize(("loinc", "sex", "low", "high", "source"), PUBLISHED)
def test_sample_ranges_match_published_values(
    loinc: str, sex: str, low: float | None, high: float | None, source: str
) -> None:
    rr = range_for(loinc)
    assert rr is not None
    interval = rr.interval_for(sex, 60)
    assert interval is not None
    assert (interval.low, interval.high) == (low, high)
    assert source in rr.interval_source(interval)


@pytest.mark.parametrize(
    ("loinc", "low", "high"),
    [
        ("2823-3", 2.8, 6.2),  # Kost 1990 JAMA, potassium
        ("2951-2", 120, 158),  # Kost 1990 JAMA, sodium
        ("2345-7", 46, 484),  # Kost 1990 JAMA, glucose mg/dL
        ("8636-3", None, 500),  # AHA/ACCF 2010 QTc
        ("2524-7", None, 4.0),  # Surviving Sepsis Campaign 2018 lactate
    ],
)
def test_critical_limits_match_published_values(
    loinc: str, low: float | None, high: float | None
) -> None:
    rr = range_for(loinc)
    assert rr is not None
    assert rr.critical is not None
    assert (rr.critical.low, rr.critical.high) == (low, high)


def test_sex_specific_interval_selection() -> None:
    rr = range_for("2160-0")
    assert rr is not None
    assert rr.interval_for("female", 70).high == 0.9  # type: ignore[union-attr]
    assert rr.interval_for("unknown", 70) is None


# --- units ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "src", "dst", "loinc", "expected"),
    [
        (1.0, "mg/dL", "umol/L", "2160-0", 88.4),  # labunits creatinine factor
        (88.4, "µmol/L", "mg/dL", "2160-0", 1.0),
        (180, "mg/dL", "mmol/L", "2345-7", 9.99),  # labunits glucose factor 0.05551
        (2.0, "mg/dL", "mmol/L", "19123-9", 0.823),  # labunits magnesium factor 0.4114
        (4.2, "meq/L", "mmol/L", "2823-3", 4.2),
        (250, "10*3/uL", "10*9/L", "777-3", 250),  # metric prefixes only
        (128, "g/L", "g/dL", "718-7", 12.8),
    ],
)
def test_conversions(value: float, src: str, dst: str, loinc: str, expected: float) -> None:
    assert convert(value, src, dst, loinc) == pytest.approx(expected, rel=1e-3)


def test_unconvertible_unit_raises() -> None:
    with pytest.raises(UnitMismatch, match="mg/dL to mmol/L for LOINC 2823-3"):
        convert(16, "mg/dL", "mmol/L", "2823-3")
    with pytest.raises(UnitMismatch):
        convert(500, "ng/mL{DDU}", "ng/mL{FEU}", "48065-7")


# --- flags ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "flag"),
    [
        (2.7, "LL"),
        (2.8, "LL"),
        (3.2, "L"),
        (3.5, "N"),
        (5.0, "N"),
        (5.4, "H"),
        (6.2, "HH"),
        (6.4, "HH"),
    ],
)
def test_potassium_flags(value: float, flag: str) -> None:
    f = flag_observation(ob("Observation/k", "2823-3", value, "mmol/L"), "male", 60)
    assert f.flag == flag
    assert (f.low, f.high, f.critical_low, f.critical_high) == (3.5, 5.0, 2.8, 6.2)
    assert "Harrison" in f.source
    assert "Kost" in f.critical_source


def test_limits_are_shown_in_the_results_unit() -> None:
    f = flag_observation(ob("Observation/c", "14682-9", 142, "umol/L"), "female", 70)
    assert f.flag == "H"
    assert f.value == 142
    assert f.unit == "umol/L"
    assert f.high == pytest.approx(0.9 * 88.4)


def test_wrong_unit_is_reported_not_interpreted() -> None:
    f = flag_observation(ob("Observation/k", "2823-3", 16, "mg/dL"), "male", 60)
    assert f.flag == "unit_mismatch"
    findings = lab_findings(record(ob("Observation/k", "2823-3", 16, "mg/dL")))
    assert [(x.kind, x.severity.value) for x in findings] == [("data_quality", "moderate")]


def test_impossible_potassium_is_a_data_quality_finding() -> None:
    findings = lab_findings(record(ob("Observation/k", "2823-3", 80, "mmol/L")))
    (finding,) = findings
    assert finding.kind == "data_quality"
    assert finding.severity.value == "high"
    assert finding.citations[0].ref == "Observation/k"
    assert "not interpretable" in finding.summary


def test_unknown_loinc_is_kept_as_no_range() -> None:
    rec = record(
        ob("Observation/x", "", 7.0, "mmol/L", unknown_code=True),
        ob("Observation/y", "9999-4", 1, "1"),
    )
    flags = lab_flags(rec)
    assert [(f.ref, f.flag) for f in flags] == [
        ("Observation/x", "no_range"),
        ("Observation/y", "no_range"),
    ]
    (finding,) = lab_findings(rec)
    assert finding.kind == "lab_no_range"
    assert {c.ref for c in finding.citations} == {"Observation/x", "Observation/y"}


def test_entered_in_error_results_are_not_flagged() -> None:
    rec = record(ob("Observation/k", "2823-3", 7.9, "mmol/L", status="entered-in-error"))
    assert lab_flags(rec) == []


# --- trends ---------------------------------------------------------------------------------


def creatinine_course() -> PatientRecord:
    return record(
        ob("Observation/c0", "2160-0", 1.0, "mg/dL", hours=0),
        ob("Observation/c1", "14682-9", 133, "umol/L", hours=24),
        ob("Observation/c2", "2160-0", 2.0, "mg/dL", hours=48),
        ob("Observation/c3", "2160-0", -1.0, "mg/dL", hours=60),
    )


def test_trend_across_units_and_aliases_excludes_implausible() -> None:
    t = lab_trends(creatinine_course(), "2160-0")
    assert [p.ref for p in t.points] == ["Observation/c0", "Observation/c1", "Observation/c2"]
    assert t.unit == "mg/dL"
    assert t.points[1].value == pytest.approx(133 / 88.4)
    assert t.baseline is not None
    assert t.baseline.ref == "Observation/c0"
    assert t.latest is not None
    assert t.latest.ref == "Observation/c2"
    assert t.delta == pytest.approx(1.0)
    assert t.percent_change == pytest.approx(100.0)
    assert t.rate_per_day == pytest.approx(0.5)
    assert t.excluded == ("Observation/c3: implausible",)


def test_trend_finding_cites_every_point() -> None:
    findings = lab_findings(creatinine_course())
    trend = next(f for f in findings if f.kind == "lab_trend")
    assert "rising (worsening)" in trend.summary
    assert [c.ref for c in trend.citations] == [
        "Observation/c0",
        "Observation/c1",
        "Observation/c2",
    ]
    assert "Harrison" in trend.source
    assert any(
        f.kind == "data_quality" and f.citations[0].ref == "Observation/c3" for f in findings
    )


def test_earlier_critical_value_still_reported() -> None:
    rec = record(
        ob("Observation/l0", "2524-7", 4.6, "mmol/L", 0),
        ob("Observation/l1", "2524-7", 1.8, "mmol/L", 6),
    )
    findings = lab_findings(rec)
    earlier = next(f for f in findings if f.citations[0].ref == "Observation/l0")
    assert "was critically high" in earlier.summary
    assert earlier.severity.value == "high"
    assert any(f.kind == "lab_trend" and "normalised" in f.summary for f in findings)


def test_empty_trend() -> None:
    t = lab_trends(record(), "2823-3")
    assert t.points == ()
    assert t.latest is None
    assert t.name == "Potassium"


# --- the reporting laboratory's own range ---------------------------------------------------------


def lab_range(low: float | None, high: float | None, unit: str = "", text: str = "") -> LabRange:
    return LabRange(low=low, high=high, unit=unit, text=text)


def test_the_laboratorys_range_wins_over_the_shipped_interval() -> None:
    """K 5.1: high against the shipped 3.5-5.0 (Harrison's), normal for the laboratory that
    measured it and reports 3.5-5.1; the critical limits stay the shipped, sourced ones."""
    shipped = flag_observation(ob("Observation/k", "2823-3", 5.1, "mmol/L"), "male", 60)
    assert shipped.flag == "H"
    local = ob("Observation/k", "2823-3", 5.1, "mmol/L", lab_range=lab_range(3.5, 5.1, "mmol/L"))
    f = flag_observation(local, "male", 60)
    assert (f.flag, f.low, f.high) == ("N", 3.5, 5.1)
    assert f.source == LAB_RANGE_SOURCE
    critical = local.model_copy(update={"value": 6.4})
    f = flag_observation(critical, "male", 60)
    assert (f.flag, f.high, f.critical_high) == ("HH", 5.1, 6.2)
    assert "Kost" in f.critical_source


def test_a_laboratory_range_in_another_unit_is_converted() -> None:
    # creatinine 1.3 mg/dL against the laboratory's 62-106 umol/L (0.70-1.20 mg/dL)
    given = lab_range(62, 106, "umol/L", text="adult male, enzymatic method")
    f = flag_observation(ob("Observation/c", "2160-0", 1.3, "mg/dL", lab_range=given), "male", 60)
    assert f.flag == "H"
    assert f.low == pytest.approx(62 / 88.4, abs=1e-3)
    assert f.high == pytest.approx(106 / 88.4, abs=1e-3)
    assert f.source == f"{LAB_RANGE_SOURCE}: adult male, enzymatic method"


def test_a_laboratory_range_that_cannot_be_compared_is_named_not_used() -> None:
    given = lab_range(14, 20, "mg/dL")  # potassium bounds in a unit we cannot convert to mmol/L
    f = flag_observation(ob("Observation/k", "2823-3", 5.4, "mmol/L", lab_range=given), "male", 60)
    assert (f.flag, f.high) == ("H", 5.0)  # the shipped interval
    assert "Harrison" in f.source
    assert "the laboratory's range is in mg/dL" in f.detail


def test_an_analyte_without_a_shipped_range_is_flagged_by_the_laboratorys() -> None:
    given = lab_range(None, 35, "U/L")
    f = flag_observation(ob("Observation/x", "99999-9", 52, "U/L", lab_range=given), "male", 60)
    assert (f.flag, f.high, f.critical_high) == ("H", 35, None)
    assert f.source == LAB_RANGE_SOURCE
    without = flag_observation(ob("Observation/x", "99999-9", 52, "U/L"), "male", 60)
    assert without.flag == "no_range"


def test_the_laboratorys_own_flag_is_kept_and_named_when_it_disagrees() -> None:
    agree = ob("Observation/k", "2823-3", 5.4, "mmol/L", lab_interpretation="H")
    f = flag_observation(agree, "male", 60)
    assert (f.flag, f.lab_flag, f.detail) == ("H", "H", "")
    disagree = agree.model_copy(update={"value": 6.4})  # critical by Kost; the lab said H
    f = flag_observation(disagree, "male", 60)
    assert (f.flag, f.lab_flag) == ("HH", "H")
    assert f.detail == "the laboratory flagged it H"


# --- trend wording that matches the numbers (issue 14) -----------------------------------------


def test_a_rise_then_a_fall_reads_rising_overall_falling_since_the_peak() -> None:
    # the demo patient's creatinine: 1.6, 2.9, 3.4, 3.1 mg/dL
    values = (1.6, 2.9, 3.4, 3.1)
    rec = record(
        *(ob(f"Observation/c{i}", "2160-0", v, "mg/dL", 24 * i) for i, v in enumerate(values))
    )
    assert course(lab_trends(rec, "2160-0")) == "rising overall, falling since the peak"
    [trend] = [f for f in lab_findings(rec) if f.kind == "lab_trend"]
    assert trend.summary.startswith(
        "Creatinine rising overall, falling since the peak (worse than baseline): 1.6 -> 3.1 mg/dL"
        " (peak 3.4)"
    )
    assert "last change -0.3 mg/dL/day" in trend.summary
    assert "(worsening)" not in trend.summary
    steady = record(
        *(
            ob(f"Observation/s{i}", "2160-0", v, "mg/dL", 24 * i)
            for i, v in enumerate((1.6, 2.9, 3.4))
        )
    )
    assert course(lab_trends(steady, "2160-0")) == "rising"
    assert "rising (worsening)" in next(
        f.summary for f in lab_findings(steady) if f.kind == "lab_trend"
    )


def test_units_are_written_as_clinicians_write_them() -> None:
    assert written_unit("mL/min/{1.73_m2}") == "mL/min/1.73 m²"
    assert written_unit("mm[Hg]") == "mmHg"
    assert written_unit("10*9/L") == "×10⁹/L"
    assert written_unit("ng/mL{FEU}") == "ng/mL FEU"
    assert written_unit("mmol/L") == "mmol/L"
    egfr = record(ob("Observation/e", "98979-8", 19, "mL/min/{1.73_m2}"))
    [flag] = [f for f in lab_findings(egfr) if f.kind == "lab_flag"]
    assert "19 mL/min/1.73 m² is low" in flag.summary
    assert "{" not in flag.summary
