"""A record too large to check in time: the newest results are checked, the rest are named as not
checked (a data issue on the record and a degraded reason on the answer), never dropped silently.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from pydantic import ValidationError

from core.settings import REPO_ROOT, Settings
from evals.large_record import PATIENT, grown_bundle
from graphs.checkpoint import serde
from graphs.run import ask
from graphs.ward_round import build_ward_round
from tests.conftest import DepsFactory
from tools.fhir.bundle import MAX_OBSERVATIONS, newest_observations
from tools.fhir.parse import PARTLY_CHECKED
from tools.fhir.sources import DirectoryPatientSource

NOW = datetime(2025, 7, 12, 9, tzinfo=UTC)


def test_the_newest_observations_are_kept_at_the_real_bound() -> None:
    data = grown_bundle(MAX_OBSERVATIONS + 300)
    others = [e for e in data["entry"] if e["resource"]["resourceType"] != "Observation"]
    kept, trimmed = newest_observations(data)
    assert trimmed is not None
    assert (trimmed.kept, trimmed.total) == (MAX_OBSERVATIONS, MAX_OBSERVATIONS + 300)
    observations = [e for e in kept["entry"] if e["resource"]["resourceType"] == "Observation"]
    assert len(observations) == MAX_OBSERVATIONS
    # every other resource stays, and the grown copies (dated before the originals) go first
    assert [e for e in kept["entry"] if e["resource"]["resourceType"] != "Observation"] == others
    ids = {e["resource"]["id"] for e in observations}
    assert f"{PATIENT}-grown-0" in ids
    assert f"{PATIENT}-grown-{MAX_OBSERVATIONS + 300 - 35}" not in ids


def test_a_record_within_the_bound_is_untouched() -> None:
    data = grown_bundle(100)
    assert newest_observations(data) == (data, None)


async def test_the_round_says_what_it_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, round_deps: DepsFactory
) -> None:
    # WARDROUND_MAX_OBSERVATIONS=200 stands in for 5,000 so that the test parses 400 results,
    # not 5,400; the composition root hands it to the record source of WARDROUND_PATIENTS_DIR
    monkeypatch.setenv("WARDROUND_MAX_OBSERVATIONS", "200")
    (tmp_path / f"{PATIENT}.json").write_text(json.dumps(grown_bundle(400)))
    deps = round_deps(settings={"patients_dir": tmp_path}, clock=lambda: NOW)
    record = await deps.patients.load(PATIENT)
    [issue] = [i for i in record.data_issues if i.kind == PARTLY_CHECKED]
    assert "checked the 200 newest of 400 observations" in issue.message
    result = await ask(
        build_ward_round(deps, InMemorySaver(serde=serde())), patient_id=PATIENT, question="?"
    )
    assert issue.message in result.degraded_reasons
    assert any(f.kind == "aki_stage" for f in result.findings)  # the newest results still count


def test_the_bound_is_a_setting_with_the_documented_default(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path).max_observations == MAX_OBSERVATIONS == 5_000
    with pytest.raises(ValidationError):
        Settings(data_dir=tmp_path, max_observations=0)
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert "| `WARDROUND_MAX_OBSERVATIONS` | 5,000 |" in readme


def test_a_50_mb_bundle_is_read_in_bounded_time_and_listed(tmp_path: Path) -> None:
    """A 50 MB bundle (made here, never committed) neither stalls nor breaks the directory."""
    data = grown_bundle(62_000)
    path = tmp_path / f"{PATIENT}.json"
    path.write_text(json.dumps(data))
    assert path.stat().st_size > 50_000_000
    source = DirectoryPatientSource(tmp_path, clock=lambda: NOW)
    started = time.perf_counter()
    [summary] = asyncio.run(source.list_patients())
    took = time.perf_counter() - started
    assert summary.id == PATIENT
    # JSON of 50 MB plus the newest 5,000 results validated: about 25 s on two busy cores
    assert took < 120, f"{took:.0f} s"
    assert asyncio.run(source.ward_of(PATIENT)) == summary.ward  # known without a second parse
    assert source.unreadable.listing() == []
