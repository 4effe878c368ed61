"""Every run's trail says how it ended: with its answer (``request.answered``) or, when it raised
before answering (record not found, the client gone mid-round), with an ``error`` event
(``where: run``) naming the exception. The run list counts it and calls the run failed; the chain
still verifies."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from core.audit import RUN_FAILED, AuditStore, EventKind
from core.errors import RecordNotFound
from core.model.transcript_server import Fault
from graphs.checkpoint import serde
from graphs.run import ask
from graphs.ward_round import build_ward_round
from kg.store import GraphStore
from tests.audit.kg_round import PATIENT, QUESTION, guideline_model
from tests.conftest import DepsFactory
from tools.fhir.sources import DirectoryPatientSource


@pytest.fixture
def audit(tmp_path: Path) -> Iterator[AuditStore]:
    store = AuditStore.open(f"sqlite:///{tmp_path / 'audit.sqlite'}")
    yield store
    store.close()


def _graph(round_deps: DepsFactory, kg: GraphStore, model: Any) -> Any:
    deps = round_deps(patients=DirectoryPatientSource(), model=model, graph_store=kg)
    return build_ward_round(deps, InMemorySaver(serde=serde()))


async def _only_run(audit: AuditStore) -> tuple[str, list[Any]]:
    page = await audit.runs()
    [run] = page.runs
    return run.run_id, await audit.events(run_id=run.run_id)


async def test_a_run_that_raises_ends_with_an_error_event(
    audit: AuditStore, curated_kg: GraphStore, scripted_model: Any, round_deps: DepsFactory
) -> None:
    _, model = scripted_model(guideline_model)
    graph = _graph(round_deps, curated_kg, model)
    with pytest.raises(RecordNotFound):
        await ask(graph, patient_id="no-such-patient", question=QUESTION, audit=audit)
    run_id, events = await _only_run(audit)
    kinds = [e.kind for e in events]
    assert kinds[0] == EventKind.REQUEST_RECEIVED
    assert EventKind.REQUEST_ANSWERED not in kinds
    last = events[-1]
    assert last.kind == EventKind.ERROR
    assert last.payload["where"] == RUN_FAILED
    assert last.payload["error"]["type"] == "RecordNotFound"
    assert last.parent_id is None  # the run's own end, not a step's
    # the node that raised says so too, and the run list counts the run's error
    failed = [e for e in events if e.kind == EventKind.NODE_FINISHED and e.payload.get("error")]
    assert [e.payload["node"] for e in failed] == ["load_record"]
    [summary] = (await audit.runs()).runs
    assert (summary.run_id, summary.errors, summary.outcome) == (run_id, 1, "failed")
    assert (await audit.verify()).ok


async def test_a_cancelled_run_ends_with_an_error_event(
    audit: AuditStore, curated_kg: GraphStore, scripted_model: Any, round_deps: DepsFactory
) -> None:
    """The client went away mid-round (the server cancels the task): the trail still ends."""
    server, model = scripted_model(guideline_model)
    server.inject(Fault("delay", delay_s=30.0))  # the router's call hangs
    graph = _graph(round_deps, curated_kg, model)
    task = asyncio.create_task(ask(graph, patient_id=PATIENT, question=QUESTION, audit=audit))
    for _ in range(200):  # until the model call is under way
        await asyncio.sleep(0.02)
        if any(
            e.kind == EventKind.NODE_STARTED and e.payload.get("node") == "route"
            for e in await audit.events()
        ):
            break
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    _, events = await _only_run(audit)
    last = events[-1]
    assert (last.kind, last.payload["where"]) == (EventKind.ERROR, RUN_FAILED)
    assert last.payload["error"]["type"] == "CancelledError"
    assert EventKind.REQUEST_ANSWERED not in [e.kind for e in events]
    assert [r.outcome for r in (await audit.runs()).runs] == ["failed"]
    assert (await audit.verify()).ok
