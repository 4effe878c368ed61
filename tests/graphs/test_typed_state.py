"""The approval values and cards are typed models in the state, in the real SQLite checkpoints,
and in threads checkpointed before they were typed (dicts), which load and resume as models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.serde.event_hooks import register_serde_event_listener

from agents.approval_memory import Settled
from agents.approvals import JsonlOutbox, Proposal, RecordedDecision, digest
from agents.cards import Card
from core.settings import SHIPPED_DATA, Settings
from graphs.checkpoint import open_checkpointer
from graphs.run import ask, resume
from graphs.ward_round import build_ward_round
from tests.conftest import DepsFactory
from tests.graphs.test_approvals import ORDER, PATIENT, decide, outbox_items
from tests.graphs.test_ward_round import NOW, ward_model
from tools.fhir.sources import DirectoryPatientSource

QUESTION = "Can we give the co-amoxiclav?"
TYPED = {
    "proposals": Proposal,
    "decisions": RecordedDecision,
    "settled": Settled,
    "standing": Settled,
    "cards": Card,
}


@pytest.fixture
def serde_events() -> Iterator[list[Any]]:
    """What LangGraph's serializer reports while loading: an unregistered type it let through
    (with its warning) or a type it blocked."""
    heard: list[Any] = []
    unregister = register_serde_event_listener(heard.append)
    yield heard
    unregister()


def deps_for(round_deps: DepsFactory, scripted_model: Any, outbox: JsonlOutbox) -> Any:
    _, client = scripted_model(ward_model)
    return round_deps(
        patients=DirectoryPatientSource(SHIPPED_DATA / "patients", clock=lambda: NOW),
        model=client,
        clock=lambda: NOW,
        outbox=outbox,
    )


def config(thread_id: str) -> Any:
    return {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}


async def stored_values(saver: BaseCheckpointSaver[Any], thread_id: str) -> dict[str, Any]:
    """The thread's latest root checkpoint as the saver loads it (no graph, no channels)."""
    stored = await saver.aget_tuple(config(thread_id))
    assert stored is not None
    values: dict[str, Any] = stored.checkpoint["channel_values"]
    return values


async def write_old_shape(saver: BaseCheckpointSaver[Any], thread_id: str) -> None:
    """Rewrite the thread's latest root checkpoint, through the saver, as the state was written
    before it was typed: each model dumped (the cards in JSON mode), everything else as it is."""
    stored = await saver.aget_tuple(config(thread_id))
    assert stored is not None
    checkpoint = stored.checkpoint
    values = checkpoint["channel_values"]
    for key in TYPED:
        if values.get(key):
            mode = "json" if key == "cards" else "python"
            values[key] = [m.model_dump(mode=mode) for m in values[key]]
    if values.get("decided"):
        values["decided"] = [d.model_dump() for d in values["decided"]]
    versions = dict(checkpoint["channel_versions"])
    parent = stored.parent_config or config(thread_id)
    await saver.aput(parent, checkpoint, stored.metadata, versions)


async def test_the_state_holds_the_models_in_the_sqlite_checkpoint(
    tmp_path: Path, round_deps: DepsFactory, scripted_model: Any, serde_events: list[Any]
) -> None:
    settings = Settings(data_dir=tmp_path)
    deps = deps_for(round_deps, scripted_model, JsonlOutbox(tmp_path / "outbox.jsonl"))
    async with open_checkpointer(settings) as saver:
        result = await ask(build_ward_round(deps, saver), patient_id=PATIENT, question=QUESTION)
    assert result.pending_approval
    async with open_checkpointer(settings) as saver:  # a fresh saver, as in a new process
        values = await stored_values(saver, result.thread_id)
        snapshot = await build_ward_round(deps, saver).aget_state(config(result.thread_id))
    # loaded by the serializer itself as the models: listed, not blocked (that gives a dict)
    assert [type(p) for p in values["proposals"]] == [Proposal]
    assert values["cards"]
    assert all(type(c) is Card for c in values["cards"])
    assert snapshot.values["proposals"] == result.proposals
    assert snapshot.values["proposals"][0].target == ORDER
    assert serde_events == []  # no "Deserializing unregistered type", nothing blocked


async def test_a_thread_paused_before_the_state_was_typed_resumes_exactly_once(
    tmp_path: Path, round_deps: DepsFactory, scripted_model: Any, serde_events: list[Any]
) -> None:
    settings = Settings(data_dir=tmp_path)
    outbox = JsonlOutbox(tmp_path / "outbox.jsonl")
    deps = deps_for(round_deps, scripted_model, outbox)
    async with open_checkpointer(settings) as saver:
        first = await ask(build_ward_round(deps, saver), patient_id=PATIENT, question=QUESTION)
        await write_old_shape(saver, first.thread_id)
    [proposal] = first.proposals
    async with open_checkpointer(settings) as saver:
        old = await stored_values(saver, first.thread_id)
        assert old["proposals"] == [proposal.model_dump()]  # the old shape, as stored
        assert all(isinstance(c, dict) for c in old["cards"])
        graph = build_ward_round(deps, saver)
        snapshot = await graph.aget_state(config(first.thread_id))
        assert snapshot.values["proposals"] == [proposal]  # read as the models
        assert snapshot.values["cards"] == first.cards
        decided = await resume(graph, thread_id=first.thread_id, decision=decide("approve"))
        [written] = outbox_items(outbox)
        await write_old_shape(saver, first.thread_id)  # decisions and settled as dicts too
    [recorded] = decided.decisions
    assert isinstance(recorded, RecordedDecision)
    assert (recorded.decision, recorded.approver) == ("approve", "dr-lin")
    assert recorded.recorded_as == ["file:outbox.jsonl"]
    assert written["decision_id"] == recorded.decision_id
    assert written["proposal"] == proposal.model_dump()
    assert written["digest"] == digest(proposal.model_dump(), None)  # what was shown, approved
    async with open_checkpointer(settings) as saver:
        old = await stored_values(saver, first.thread_id)
        assert isinstance(old["settled"][0], dict)
        again = await ask(
            build_ward_round(deps, saver),
            patient_id=PATIENT,
            question=QUESTION,
            thread_id=first.thread_id,
        )
    # the decision read back from dicts still stands: not asked again, nothing written again
    assert again.proposals == []
    assert not again.pending_approval
    assert [s.proposal.id for s in again.settled] == [proposal.id]
    assert again.settled[0].decision_id == recorded.decision_id
    assert outbox_items(outbox) == [written]
    assert serde_events == []
