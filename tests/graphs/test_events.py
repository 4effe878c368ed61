"""A run's typed events come from the graph itself: every step that runs starts then finishes
(whatever the graph's nodes are called), findings come with their step, the answer's pieces
stream inside the synthesis, the cards come once with the step that made them, and the run ends
with its answer, or with the failure it raises."""

from __future__ import annotations

from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from core.errors import RecordNotFound
from graphs.checkpoint import serde
from graphs.events import (
    Answered,
    CardsReady,
    Failed,
    FindingReported,
    OutlookReady,
    RoundEvent,
    Status,
    Token,
)
from graphs.run import ask
from graphs.ward_round import build_ward_round
from tests.conftest import DepsFactory
from tests.graphs.test_ward_round import NOW, ward_model


async def test_the_events_of_a_round(
    patients: Any, scripted_model: Any, round_deps: DepsFactory
) -> None:
    _, client = scripted_model(ward_model)
    graph = build_ward_round(
        round_deps(patients=patients, model=client, clock=lambda: NOW), InMemorySaver(serde=serde())
    )
    heard: list[RoundEvent] = []
    result = await ask(graph, patient_id="aki-demo", question="Why?", on_event=heard.append)
    assert heard[-1] == Answered(result)
    assert result.outlook  # not vacuous: aki-demo's creatinine has a trajectory
    assert heard[-2] == OutlookReady(result.outlook, result.language)  # just before the end
    status = [(e.step, e.phase) for e in heard if isinstance(e, Status)]
    ran = {step for step, _ in status}
    assert {"load_record", "route", "synthesize", "propose"} <= ran
    assert ran <= set(graph.get_graph().nodes)  # the graph's own node names
    for step in ran:  # each step starts, then finishes
        assert status.index((step, "started")) < status.index((step, "finished")), step
    found = [e for e in heard if isinstance(e, FindingReported)]
    assert {f.finding.id for f in found} == {f.id for f in result.findings}
    assert all(f.step in ran for f in found)
    synthesis = [i for i, e in enumerate(heard) if isinstance(e, Status) and e.step == "synthesize"]
    tokens = [i for i, e in enumerate(heard) if isinstance(e, Token)]
    assert tokens
    assert synthesis[0] < min(tokens) <= max(tokens) < synthesis[1]
    (cards,) = [e for e in heard if isinstance(e, CardsReady)]
    assert cards.cards == result.cards
    assert cards.cards  # not vacuous: the aki-demo round has cards
    assert heard.index(cards) < heard.index(Status("synthesize", "finished"))


async def test_a_failed_run_ends_with_its_failure(patients: Any, round_deps: DepsFactory) -> None:
    graph = build_ward_round(
        round_deps(patients=patients, clock=lambda: NOW), InMemorySaver(serde=serde())
    )
    heard: list[RoundEvent] = []
    with pytest.raises(RecordNotFound) as raised:
        await ask(graph, patient_id="nobody-here", question="Why?", on_event=heard.append)
    assert heard[-1] == Failed(raised.value)  # the caller hears what it is raised
    assert Status("load_record", "started") in heard
    assert Status("load_record", "finished") not in heard
    assert not any(isinstance(e, Answered) for e in heard)
