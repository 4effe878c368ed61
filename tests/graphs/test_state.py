"""Per-question state: each question on a thread starts from nothing (``START_AFRESH``)."""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.memory import InMemorySaver

from core.model.replies import Reply
from graphs.checkpoint import serde
from graphs.run import ask
from graphs.state import START_AFRESH, merge_timings, per_question
from graphs.ward_round import build_ward_round
from tests.conftest import DepsFactory
from tests.graphs.test_ward_round import NOW, step_of, ward_model


def test_the_marker_empties_and_anything_else_accumulates() -> None:
    assert per_question(None, [1]) == [1]
    assert per_question([1], [2, 3]) == [1, 2, 3]
    assert per_question([1, 2], START_AFRESH) == []
    assert per_question([1, 2], None) == []  # the marker of checkpoints written before it
    before = {"load_record": 5.0, "history": 9.0}
    assert merge_timings(before, {"route": 1.0}) == {**before, "route": 1.0}
    assert merge_timings(before, {START_AFRESH: 0.0, "load_record": 4.0}) == {"load_record": 4.0}


async def test_a_second_question_on_a_thread_does_not_inherit_the_first_ones_findings(
    patients: Any, scripted_model: Any, round_deps: DepsFactory
) -> None:
    _, client = scripted_model(ward_model)
    deps = round_deps(patients=patients, model=client, clock=lambda: NOW)
    graph = build_ward_round(deps, InMemorySaver(serde=serde()))
    question = "Why is the creatinine rising?"
    first = await ask(graph, patient_id="aki-demo", question=question, thread_id="t-1")
    second = await ask(graph, patient_id="aki-demo", question=question, thread_id="t-1")
    assert first.findings
    assert [f.id for f in second.findings] == [f.id for f in first.findings]  # not twice
    state = await graph.aget_state({"configurable": {"thread_id": "t-1"}})
    assert len(state.values["reports"]) == len(state.values["specialists"])


def routed_by_question(body: dict[str, Any]) -> Reply:
    """The router asks for the history specialist only when this question (after the thread's
    earlier ones) names the history."""
    if step_of(body) == "router":
        asked = str(body["messages"][-1]["content"]).rsplit("Question: ", 1)[-1]
        return Reply.json({"specialists": ["history", "labs"] if "history" in asked else ["labs"]})
    return ward_model(body)


async def test_a_second_question_reports_only_its_own_step_timings(
    patients: Any, scripted_model: Any, round_deps: DepsFactory
) -> None:
    _, client = scripted_model(routed_by_question)
    deps = round_deps(patients=patients, model=client, clock=lambda: NOW)
    graph = build_ward_round(deps, InMemorySaver(serde=serde()))
    first = await ask(graph, patient_id="aki-demo", question="What is the history?", thread_id="t")
    second = await ask(graph, patient_id="aki-demo", question="Potassium?", thread_id="t")
    steps = {"load_record", "route", "synthesize", "total"}
    ran = [{s.name for s in result.specialists} for result in (first, second)]
    assert "history" in ran[0]
    assert "history" not in ran[1]
    assert set(first.timings) == steps | ran[0]
    # the first question's history step is not reported as the second one's
    assert set(second.timings) == steps | ran[1]
    state = await graph.aget_state({"configurable": {"thread_id": "t"}})
    assert set(state.values["timings"]) == set(second.timings) - {"total"}
