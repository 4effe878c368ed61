"""The suite runner's failure handling, and the diff of two runs."""

from __future__ import annotations

import asyncio
import copy
import json
from pathlib import Path
from typing import Any

import pytest

from core.errors import InvalidInput
from core.model.replies import Reply
from evals.cases import Case, Suite, load_suite
from evals.report import diff_markdown, render_markdown
from evals.runner import merge_results, run_suite
from evals.scripted import scripted_ward_model
from tools.fhir.sources import DirectoryPatientSource


async def test_a_failing_case_is_reported_and_not_scored(tmp_path: Path, eval_model) -> None:
    good = load_suite("smoke").cases[0]
    bad = Case(id="ghost", patient="no-such-patient", question="Anything?")
    suite = Suite(name="mixed", cases=(good, bad))
    results = await run_suite(
        suite, model=eval_model, patients=DirectoryPatientSource(), out=tmp_path
    )
    assert results["errors"] == 1
    assert results["summary"]["cases"] == 1
    ghost = next(c for c in results["cases"] if c["case_id"] == "ghost")
    assert "no-such-patient" in ghost["error"]
    assert json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))["errors"] == 1
    report = render_markdown(results)
    assert "## Failed cases" in report
    assert "`ghost`" in report


async def test_diff_names_metric_deltas_and_changed_answers(tmp_path: Path, eval_model) -> None:
    suite = Suite(name="one", cases=(load_suite("smoke").cases[0],))
    a = await run_suite(suite, model=eval_model, patients=DirectoryPatientSource(), out=tmp_path)
    b = copy.deepcopy(a)
    b["cases"][0]["answer"] = "A new answer."
    b["cases"][0]["findings"] = [*b["cases"][0]["findings"], "model:new"]
    b["summary"]["safety_critical_misses"] += 2
    b["cases"][0]["metrics"]["route_actual"] = ["labs"]
    text = diff_markdown(a, b)
    assert "+2.000 (worse)" in text
    assert "## Changed cases (1)" in text
    assert "answer; findings (+1 -0: model:new); route " in text
    assert "-> labs" in text
    assert "> A new answer." in text


async def test_cases_run_concurrently_over_a_client_pool(tmp_path: Path, scripted_model) -> None:
    """Each server's first request waits until the other server has been asked something: no
    round loses its model only if two rounds were in flight at once (run one after the other,
    the first request would time out and degrade its round)."""
    served: list[str] = []
    asked = {"A": asyncio.Event(), "B": asyncio.Event()}

    def tagged(tag: str):
        async def script(body: dict[str, Any]) -> Reply:
            served.append(tag)
            asked[tag].set()
            other = "B" if tag == "A" else "A"
            await asyncio.wait_for(asked[other].wait(), timeout=10)
            return scripted_ward_model(body)

        return script

    clients = [scripted_model(tagged(tag))[1] for tag in "AB"]
    suite = load_suite("smoke")
    results = await run_suite(suite, model=clients, patients=DirectoryPatientSource(), out=tmp_path)
    assert [c["case_id"] for c in results["cases"]] == [c.id for c in suite.cases]
    assert results["complete"] is True
    assert results["replays"] == {"checked": 3, "identical": 3}
    assert set(served) == {"A", "B"}
    # no round lost its model: the only degradation is the KG this test does not load
    reasons = {r for c in results["cases"] for r in c["degraded_reasons"]}
    assert reasons == {"guideline: no knowledge graph configured"}
    on_disk = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert on_disk["complete"] is True
    assert on_disk["summary"] == results["summary"]


async def test_parts_of_a_suite_merge_into_the_whole(tmp_path: Path, eval_model) -> None:
    cases = load_suite("smoke").cases
    patients = DirectoryPatientSource()
    whole = await run_suite(
        Suite(name="smoke", cases=cases), model=eval_model, patients=patients, out=tmp_path / "w"
    )
    first = await run_suite(
        Suite(name="smoke", cases=cases[:1]), model=eval_model, patients=patients,
        out=tmp_path / "a",
    )  # fmt: skip
    rest = await run_suite(
        Suite(name="smoke", cases=cases[1:]), model=eval_model, patients=patients,
        out=tmp_path / "b",
    )  # fmt: skip
    merged = merge_results([first, rest])

    def clinical(summary: dict[str, Any]) -> dict[str, Any]:  # latency differs run to run
        return {k: v for k, v in summary.items() if k != "latency_ms"}

    assert clinical(merged["summary"]) == clinical(whole["summary"])
    assert set(merged["summary"]["latency_ms"]) == set(whole["summary"]["latency_ms"])
    assert [c["case_id"] for c in merged["cases"]] == [c.id for c in cases]
    assert merged["complete"] is True
    with pytest.raises(InvalidInput, match="more than one run"):
        merge_results([first, first])
