"""The shipped scenario patients: all parse cleanly, and each shows its expected lab findings."""

from __future__ import annotations

import re
import warnings
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.domain import PatientRecord
from core.settings import SHIPPED_DATA
from tools.fhir.codes import ICD10CM, LOINC, RXNORM
from tools.fhir.parse import parse_bundle
from tools.labs.findings import lab_findings
from tools.labs.flags import lab_flags
from tools.labs.ranges import range_for

PATIENTS = SHIPPED_DATA / "patients"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
SCENARIOS: list[dict[str, Any]] = yaml.safe_load(
    (PATIENTS / "scenarios.yaml").read_text(encoding="utf-8")
)["scenarios"]
IDS = [s["id"] for s in SCENARIOS]


@cache
def load(pid: str) -> PatientRecord:
    return parse_bundle(PATIENTS / f"{pid}.json", now=NOW)


def test_at_least_fifteen_patients_and_every_one_has_a_scenario() -> None:
    files = sorted(p.stem for p in PATIENTS.glob("*.json"))
    assert len(files) >= 15
    assert sorted(IDS) == files


@pytest.mark.parametrize("scenario", SCENARIOS, ids=IDS)
def test_bundle_parses_cleanly_with_ward_and_citations(scenario: dict[str, Any]) -> None:
    record = load(scenario["id"])
    assert record.patient.id == scenario["id"]
    assert record.patient.ward == scenario["ward"]
    assert record.data_issues == ()
    assert scenario["question"].strip()
    refs = record.refs()
    assert all(o.ref in refs and o.ref.startswith("Observation/") for o in record.observations)
    assert all(not p.unknown_code for p in record.problems)
    assert all(not m.unknown_code for m in record.medications)


def _latest_flags(record: PatientRecord) -> dict[str, str]:
    latest: dict[str, str] = {}
    for f in lab_flags(record):
        latest[f.loinc] = f.flag
    return latest


@pytest.mark.parametrize("scenario", SCENARIOS, ids=IDS)
def test_expected_lab_flags(scenario: dict[str, Any]) -> None:
    latest = _latest_flags(load(scenario["id"]))
    expected = scenario["labs"]["flags"]
    assert {k: latest.get(k) for k in expected} == expected


@pytest.mark.parametrize(
    "scenario", [s for s in SCENARIOS if s["labs"].get("trends")], ids=lambda s: s["id"]
)
def test_expected_lab_trends(scenario: dict[str, Any]) -> None:
    findings = [f for f in lab_findings(load(scenario["id"])) if f.kind == "lab_trend"]
    directions: dict[str, str] = {}
    for f in findings:
        directions[f.labs[0]] = "normalised" if "(normalised)" in f.summary else "worsening"
    for loinc, direction in scenario["labs"]["trends"].items():
        rr = range_for(loinc)
        key = rr.loinc if rr else loinc
        assert directions.get(key) == direction, (loinc, directions)


@pytest.mark.parametrize(
    "scenario", [s for s in SCENARIOS if s["labs"].get("earlier_critical")], ids=lambda s: s["id"]
)
def test_expected_earlier_critical_values(scenario: dict[str, Any]) -> None:
    record = load(scenario["id"])
    earlier = {
        f.labs[0]: f.summary
        for f in lab_findings(record)
        if f.kind == "lab_flag" and "was critically" in f.summary
    }
    flags_by_ref = {(f.ref, f.loinc): f.flag for f in lab_flags(record)}
    for loinc, flag in scenario["labs"]["earlier_critical"].items():
        assert loinc in earlier, (loinc, earlier)
        assert flag in {v for (_, lo), v in flags_by_ref.items() if lo == loinc}


@pytest.mark.parametrize(
    "scenario", [s for s in SCENARIOS if s["labs"].get("no_range")], ids=lambda s: s["id"]
)
def test_results_without_range_are_reported(scenario: dict[str, Any]) -> None:
    flags = {f.loinc: f.flag for f in lab_flags(load(scenario["id"]))}
    for loinc in scenario["labs"]["no_range"]:
        assert flags[loinc] == "no_range"


@pytest.mark.parametrize(
    "scenario", [s for s in SCENARIOS if s.get("imaging")], ids=lambda s: s["id"]
)
def test_imaging_points_at_a_readable_dicom_file(scenario: dict[str, Any]) -> None:
    (study,) = load(scenario["id"]).imaging
    assert list(study.dicom_uris) == scenario["imaging"]
    assert Path(study.dicom_files[0]).read_bytes()[128:132] == b"DICM"


def test_specific_published_style_values() -> None:
    k = {
        f.ref: f
        for f in lab_flags(load("hyperkalaemia-acei-spironolactone"))
        if f.loinc == "2823-3"
    }
    assert [(f.value, f.flag) for f in k.values()] == [(5.1, "H"), (5.9, "H"), (6.4, "HH")]
    inr = [f for f in lab_flags(load("warfarin-clarithromycin")) if f.loinc == "6301-6"]
    assert [(f.value, f.flag) for f in inr] == [(2.4, "H"), (2.8, "H"), (4.1, "H"), (5.6, "HH")]
    na = [f for f in lab_flags(load("hyponatraemia-thiazide-ssri")) if f.loinc == "2951-2"]
    assert [f.flag for f in na] == ["N", "L", "L", "LL"]


def test_proposed_order_and_allergy_in_penicillin_scenario() -> None:
    record = load("penicillin-allergy-betalactam")
    (proposal,) = [m for m in record.medications if m.proposed]
    assert proposal.intent == "proposal"
    assert proposal.codings[0].code == "723"
    assert record.allergies[0].criticality == "high"


def test_traditional_chinese_notes_present() -> None:
    zh = [n for sid in IDS for n in load(sid).notes if n.language.startswith("zh")]
    assert len(zh) >= 6
    assert all(re.search(r"[\u4e00-\u9fff]", n.text) for n in zh)
    assert any(n.title.startswith("入院") for n in zh)


def test_scenario_codes_are_real() -> None:
    with warnings.catch_warnings():  # the package reads its data with a deprecated importlib API
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10_cm as icd

    for sid in IDS:
        record = load(sid)
        for p in record.problems:
            for c in p.codings:
                if c.system == ICD10CM:
                    assert icd.is_valid_item(c.code), (sid, c.code)
        assert all(m.codings[0].system == RXNORM for m in record.medications)
        assert all(c.system == LOINC for o in record.observations for c in o.codings)
