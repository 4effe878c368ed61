"""The lab interpreter's bounded tool step over the calculator registry."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from agents.context import patient_context
from agents.deps import WardRoundDeps
from agents.labs import labs_specialist
from core.model.replies import Reply
from core.settings import SHIPPED_DATA
from tests.conftest import DepsFactory
from tools.fhir.sources import DirectoryPatientSource

NOW = datetime(2025, 8, 10, tzinfo=UTC)
NOTE = Reply.json({"summary": "labs reviewed", "key_points": []})


@pytest.fixture
async def task() -> dict[str, Any]:
    record = await DirectoryPatientSource(SHIPPED_DATA / "patients").load("dka")
    return {
        "record": record.model_dump(mode="json"),
        "context": patient_context(record, NOW),
        "question": "What is the anion gap?",
        "language": "en",
        "deadline_at": time.time() + 60,
    }


def deps_for(round_deps: DepsFactory, client: Any, steps: int = 3) -> WardRoundDeps:
    return round_deps(
        patients=DirectoryPatientSource(),
        model=client,
        clock=lambda: NOW,
        settings={"max_tool_steps": steps},
    )


def calls_then_answers(*calls: Reply) -> Any:
    queue = list(calls)

    def script(body: dict[str, Any]) -> Reply:
        if "response_format" in body:
            return NOTE
        if body["messages"][-1]["role"] == "tool" and not queue:
            return Reply.text("done")
        return queue.pop(0) if queue else Reply.text("done")

    return script


async def test_model_requested_calculation_becomes_a_model_finding(
    task, scripted_model, round_deps
) -> None:
    ag = Reply.tool("anion_gap", {"sodium": 131, "chloride": 98, "bicarbonate": 8})
    server, client = scripted_model(calls_then_answers(ag))
    report = await labs_specialist(deps_for(round_deps, client), task)
    model_calc = [f for f in report.findings if f.origin == "model"]
    assert [f.summary.split(":")[0] for f in model_calc] == ["anion_gap = 25 mmol/L high"]
    assert model_calc[0].citations[0].ref == "calc:anion_gap"
    assert any(f.origin == "rule" for f in report.findings)  # the safety net is untouched
    note_request = next(r for r in server.requests if "response_format" in r)
    assert "anion_gap(" in note_request["messages"][-1]["content"]  # the note sees the result
    assert report.degraded_reason is None


async def test_bad_tool_calls_are_answered_not_fatal(task, scripted_model, round_deps) -> None:
    server, client = scripted_model(
        calls_then_answers(
            Reply.tool("order_potassium", {}),
            Reply.tool("anion_gap", {"sodium": -5, "chloride": 98, "bicarbonate": 8}),
        )
    )
    report = await labs_specialist(deps_for(round_deps, client), task)
    tool_results = [
        json.loads(m["content"])
        for r in server.requests
        for m in r["messages"]
        if m["role"] == "tool"
    ]
    assert any("unknown tool 'order_potassium'" in t.get("error", "") for t in tool_results)
    assert any("invalid arguments" in t.get("error", "") for t in tool_results)
    assert report.degraded_reason is None
    assert not [f for f in report.findings if f.origin == "model"]


async def test_an_endless_tool_loop_is_cut_and_reported(task, scripted_model, round_deps) -> None:
    ag = Reply.tool("bmi", {"weight_kg": 70, "height_cm": 175})

    def forever(body: dict[str, Any]) -> Reply:
        return NOTE if "response_format" in body else ag

    server, client = scripted_model(forever)
    report = await labs_specialist(deps_for(round_deps, client, steps=2), task)
    assert report.degraded_reason is not None
    assert "ToolLoopExceeded" in report.degraded_reason
    assert sum("tools" in r for r in server.requests) == 2  # bounded
    assert any(f.kind == "calculation" and f.origin == "rule" for f in report.findings)


async def test_tool_step_is_off_by_default(task, scripted_model, round_deps) -> None:
    server, client = scripted_model(calls_then_answers())
    await labs_specialist(deps_for(round_deps, client, steps=0), task)
    assert not any("tools" in r for r in server.requests)
