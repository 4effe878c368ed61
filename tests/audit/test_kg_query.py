"""Every knowledge-graph query of a recorded round is a ``kg.query`` audit event under the node
that asked, with its parameters, result ids, row count and duration; none carries the patient's
identity; without a recorder the proxy writes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from core.audit import AuditEvent, AuditStore, EventKind
from core.errors import WardroundError
from core.settings import Settings
from graphs.audit import audited_graph_store, record_kg_query, recording
from graphs.checkpoint import serde
from graphs.run import ask
from graphs.ward_round import build_ward_round
from kg.store import GraphStore
from tests.audit.kg_round import PATIENT, QUESTION, curated_kg, guideline_model
from tests.conftest import DepsFactory
from tools.fhir.sources import DirectoryPatientSource


@pytest.fixture(scope="module")
def kg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphStore]:
    store = curated_kg(tmp_path_factory.mktemp("kg"))
    yield store
    store.close()


@pytest.fixture
def audit(tmp_path: Path) -> Iterator[AuditStore]:
    store = AuditStore.open(f"sqlite:///{tmp_path / 'audit.sqlite'}")
    yield store
    store.close()


async def recorded_round(
    kg: GraphStore, audit: AuditStore, scripted_model: Any, round_deps: DepsFactory
) -> list[Any]:
    _, client = scripted_model(guideline_model)
    deps = round_deps(patients=DirectoryPatientSource(), model=client, graph_store=kg)
    graph = build_ward_round(deps, InMemorySaver(serde=serde()))
    result = await ask(graph, patient_id=PATIENT, question=QUESTION, audit=audit)
    return [result, await audit.events(run_id=result.run_id)]


async def test_kg_queries_are_events_under_the_guideline_node(
    kg: GraphStore, audit: AuditStore, scripted_model: Any, round_deps: DepsFactory
) -> None:
    result, events = await recorded_round(kg, audit, scripted_model, round_deps)
    by_id = {e.event_id: e for e in events}
    queries = [e for e in events if e.kind == EventKind.KG_QUERY]
    names = {q.payload["query"] for q in queries}
    assert {"resolve_drugs", "interactions_among", "contraindications"} <= names
    for q in queries:
        parent = by_id[str(q.parent_id)]
        assert (parent.kind, parent.payload["node"]) == (EventKind.NODE_STARTED, "guideline")
        assert q.duration_ms is not None
        assert q.duration_ms >= 0
        assert q.payload["rows"] == len(q.payload["results"])
        assert q.payload["backend"] == kg.backend
    resolved = next(q for q in queries if q.payload["query"] == "resolve_drugs")
    assert any(
        "spironolactone" in n.lower() for n in resolved.payload["parameters"]["names_or_codes"]
    )
    # every KG fact a finding cites was returned by a recorded query, with its source
    returned = {i for q in queries for i in q.payload["result_ids"]}
    cited = {c.ref for f in result.findings for c in f.citations if c.kind == "kg"}
    assert cited, "the guideline checker should cite KG interactions for this patient"
    assert cited <= returned
    interactions = next(q for q in queries if q.payload["query"] == "interactions_among")
    assert interactions.payload["rows"] >= 2  # ACE inhibitor + spironolactone, + potassium
    assert all(row["source"] for row in interactions.payload["results"])


async def test_kg_query_parameters_carry_no_patient_identity(
    kg: GraphStore, audit: AuditStore, scripted_model: Any, round_deps: DepsFactory
) -> None:
    _, events = await recorded_round(kg, audit, scripted_model, round_deps)
    record = await DirectoryPatientSource().load(PATIENT)
    identity = [record.patient.id, record.patient.name, *record.patient.identifiers]
    identity += [part for part in record.patient.name.split() if len(part) > 2]
    params = json.dumps(
        [e.payload["parameters"] for e in events if e.kind == EventKind.KG_QUERY],
        ensure_ascii=False,
    )
    assert params.count("names_or_codes") == 1
    for term in filter(None, identity):
        assert term not in params, term


async def test_a_patient_id_in_parameters_is_masked(kg: GraphStore, audit: AuditStore) -> None:
    recorder = audit.recorder(run_id="run-mask", patient_id="mrn-000123")
    store = audited_graph_store(kg)
    with recording(recorder):
        resolution = store.resolve_drugs(["spironolactone", "note for mrn-000123"])
    assert resolution.unresolved == ["note for mrn-000123"]  # the store saw the real input
    [event] = await audit.events(run_id="run-mask")
    assert event.payload["parameters"]["names_or_codes"] == [
        "spironolactone",
        "note for [PATIENT-ID]",
    ]
    assert event.payload["unresolved"] == ["note for mrn-000123"]


async def test_without_a_recorder_nothing_is_written(kg: GraphStore, audit: AuditStore) -> None:
    store = audited_graph_store(kg)
    direct = kg.interactions_among(["kg:Drug/9997", "kg:Drug/29046"])
    assert store.interactions_among(["kg:Drug/9997", "kg:Drug/29046"]) == direct
    assert await audit.events() == []
    assert audited_graph_store(store) is store  # applied once, however often it is asked
    assert audited_graph_store(None) is None


async def test_a_failing_query_is_recorded_and_raises(kg: GraphStore, audit: AuditStore) -> None:
    recorder = audit.recorder(run_id="run-fail")
    store = audited_graph_store(kg)
    with recording(recorder), pytest.raises(WardroundError):
        store.query_readonly("MATCH (d:Drug) DETACH DELETE d")
    [event] = await audit.events(run_id="run-fail")
    assert event.kind == EventKind.KG_QUERY
    assert event.payload["query"] == "query_readonly"
    assert event.payload["error"]["type"]
    assert "rows" not in event.payload
    assert (await audit.verify()).ok


async def test_open_runtime_audits_the_graph_store(tmp_path: Path) -> None:
    from server.wiring import open_runtime

    settings = Settings(data_dir=tmp_path / "data")
    curated_kg(settings.data_dir).close()
    async with open_runtime(settings, use_model=False) as runtime:
        assert runtime.deps.graph_store.observers == (record_kg_query,)
        recorder = runtime.audit.recorder(run_id="run-wired")
        with recording(recorder):
            runtime.deps.graph_store.lab_test("2823-3")
        [event] = await runtime.audit.events(run_id="run-wired")
    assert isinstance(event, AuditEvent)
    assert event.payload["query"] == "lab_test"
    assert event.payload["result_ids"] == [event.payload["results"][0]["id"]]
