"""Per-question state: each question on a thread starts from nothing (``START_AFRESH``)."""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.memory import InMemorySaver

from graphs.run import ask
from graphs.state import START_AFRESH, per_question
from graphs.ward_round import build_ward_round
from tests.conftest import DepsFactory
from tests.graphs.test_ward_round import NOW, ward_model


def test_the_marker_empties_and_anything_else_accumulates() -> None:
    assert per_question(None, [1]) == [1]
    assert per_question([1], [2, 3]) == [1, 2, 3]
    assert per_question([1, 2], START_AFRESH) == []
    assert per_question([1, 2], None) == []  # the marker of checkpoints written before it


async def test_a_second_question_on_a_thread_does_not_inherit_the_first_ones_findings(
    patients: Any, scripted_model: Any, round_deps: DepsFactory
) -> None:
    _, client = scripted_model(ward_model)
    deps = round_deps(patients=patients, model=client, clock=lambda: NOW)
    graph = build_ward_round(deps, InMemorySaver())
    question = "Why is the creatinine rising?"
    first = await ask(graph, patient_id="aki-demo", question=question, thread_id="t-1")
    second = await ask(graph, patient_id="aki-demo", question=question, thread_id="t-1")
    assert first.findings
    assert [f.id for f in second.findings] == [f.id for f in first.findings]  # not twice
    state = await graph.aget_state({"configurable": {"thread_id": "t-1"}})
    assert len(state.values["reports"]) == len(state.values["specialists"])
