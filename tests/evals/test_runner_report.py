"""The suite runner's failure handling, and the diff of two runs."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from evals.cases import Case, Suite, load_suite
from evals.report import diff_markdown, render_markdown
from evals.runner import run_suite
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


def test_bar_chart_scales_and_escapes() -> None:
    from xml.etree import ElementTree

    from evals.report_html import BAR_W, bar_chart

    svg = bar_chart("a <chart>", ["x&y", "z"], {"s": [2.0, None]})
    assert ElementTree.fromstring(svg).tag.endswith("svg")  # well-formed
    assert "a &lt;chart&gt;" in svg
    assert "x&amp;y" in svg
    assert f'width="{BAR_W:.1f}"' in svg  # the largest value spans the full width
    assert svg.count("<rect") == 2  # the legend swatch and one bar: None draws nothing
