"""The shipped eval suites are valid and refer to real patients, facts and specialists."""

from __future__ import annotations

import pytest

from agents.router import language_of
from core.errors import DataFileError
from core.settings import SHIPPED_DATA
from evals.cases import find_case, load_suite, suite_names
from tools.fhir.sources import DirectoryPatientSource


def test_core_suite_size_and_languages() -> None:
    suite = load_suite("core")
    assert len(suite.cases) >= 30
    assert sum(c.language == "zh-TW" for c in suite.cases) >= 10
    patients = {p.stem for p in (SHIPPED_DATA / "patients").glob("*.json")}
    assert {c.patient for c in suite.cases} == patients  # every scenario patient is covered
    assert all(c.language == language_of(c.question) for c in suite.cases)


async def test_required_citations_exist_in_the_records() -> None:
    source = DirectoryPatientSource()
    for name in suite_names():
        for case in load_suite(name).cases:
            refs = (await source.load(case.patient)).refs()
            assert set(case.required_citations) <= refs, case.id


def test_smoke_is_a_subset_of_core() -> None:
    core = {c.id: c for c in load_suite("core").cases}
    for case in load_suite("smoke").cases:
        assert core[case.id] == case


def test_unknown_suite_and_case_are_named() -> None:
    with pytest.raises(DataFileError, match="no suite 'nope'"):
        load_suite("nope")
    with pytest.raises(DataFileError, match="no case 'nope'"):
        find_case("nope")
    assert find_case("aki-on-ckd").patient == "aki-on-ckd"
