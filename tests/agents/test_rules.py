"""The deterministic safety net: AKI staging baseline, eGFR, and the shipped scenarios."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agents.rules import aki_finding, anion_gap_finding, egfr_finding, reference_baseline
from core.domain import Observation, Severity
from core.settings import SHIPPED_DATA
from tools.fhir.sources import DirectoryPatientSource

T0 = datetime(2025, 10, 8, 6, tzinfo=UTC)


def cr(days_before: float, value: float) -> Observation:
    return Observation(
        ref=f"Observation/cr-{days_before}",
        loinc="2160-0",
        display="Creatinine",
        value=value,
        unit="mg/dL",
        effective=T0 - timedelta(days=days_before),
    )


@pytest.mark.parametrize(
    ("series", "expected"),
    [
        ([cr(2, 1.0), cr(0, 2.0)], None),  # a value in the last 7 days: the calculator's RV1
        ([cr(200, 1.1), cr(90, 1.3), cr(30, 1.2), cr(0, 2.6)], 1.2),  # RV2 = median 8-365 d
        ([cr(90, 1.6), cr(1, 2.9), cr(0, 3.4)], 1.6),  # RV2 lower than RV1: the higher ratio
        ([cr(90, 1.0), cr(1, 0.9), cr(0, 1.4)], None),  # RV1 lower: left to the calculator
        ([cr(400, 1.0), cr(0, 2.0)], None),  # older than a year does not count
    ],
)
def test_reference_baseline_follows_the_nhs_england_algorithm(series, expected) -> None:
    assert reference_baseline(series) == expected


async def test_aki_on_ckd_is_stage_2_against_the_outpatient_baseline() -> None:
    record = await DirectoryPatientSource(SHIPPED_DATA / "patients").load("aki-on-ckd")
    finding = aki_finding(record)
    assert finding is not None
    assert finding.severity == Severity.high
    assert finding.summary.startswith("KDIGO AKI stage 2")
    refs = {c.ref for c in finding.citations}
    assert "Observation/aki-on-ckd-obs-13" in refs  # the 3.4 mg/dL that decided it
    assert "calc:aki_stage" in refs


async def test_egfr_is_computed_from_the_latest_creatinine() -> None:
    record = await DirectoryPatientSource(SHIPPED_DATA / "patients").load("aki-on-ckd")
    finding = egfr_finding(record, datetime(2025, 10, 8, tzinfo=UTC))
    assert finding is not None
    assert "CKD-EPI 2021" in finding.summary
    assert finding.citations[0].ref == "Observation/aki-on-ckd-obs-19"  # 3.1 mg/dL, the latest


async def test_dka_anion_gap_uses_one_simultaneous_draw() -> None:
    record = await DirectoryPatientSource(SHIPPED_DATA / "patients").load("dka")
    finding = anion_gap_finding(record)
    assert finding is not None
    assert finding.summary.startswith("anion gap 25.0 mmol/L (high")  # 131 - (98 + 8)
    assert {c.ref for c in finding.citations} == {
        "Observation/dka-obs-3",
        "Observation/dka-obs-6",
        "Observation/dka-obs-7",
        "calc:anion_gap",
    }


def test_prompt_digest_keeps_the_most_severe_and_says_what_it_left_out() -> None:
    from agents.common import findings_digest
    from core.domain import Finding

    findings = [
        Finding(id=f"f{i}", kind="lab_flag", severity=Severity.low, summary=f"minor {i}")
        for i in range(14)
    ]
    findings.append(Finding(id="k", kind="lab_flag", severity=Severity.critical, summary="K 6.9"))
    lines = findings_digest(findings, limit=10).splitlines()
    assert lines[0].startswith("- [critical] K 6.9")
    assert len(lines) == 11
    assert lines[-1] == "- ... and 5 less severe findings"
