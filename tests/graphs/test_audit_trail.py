"""A ward round leaves a complete, verifiable trail in the audit store; logs carry no PHI."""

from __future__ import annotations

from pathlib import Path

from langgraph.checkpoint.memory import InMemorySaver
from structlog.testing import capture_logs

from core.audit import AuditStore, EventKind
from graphs.checkpoint import serde
from graphs.run import ask
from graphs.ward_round import build_ward_round
from tests.conftest import DepsFactory
from tests.graphs.test_ward_round import NOW, ward_model

QUESTION = "Why is Mr Chen's creatinine rising?"


async def test_round_is_audited_as_a_tree(
    tmp_path: Path, patients, scripted_model, round_deps: DepsFactory
) -> None:
    store = AuditStore.open(f"sqlite:///{tmp_path / 'audit.sqlite'}")
    _, client = scripted_model(ward_model)
    graph = build_ward_round(
        round_deps(patients=patients, model=client, clock=lambda: NOW), InMemorySaver(serde=serde())
    )
    with capture_logs() as logs:
        result = await ask(
            graph, patient_id="aki-demo", question=QUESTION, audit=store, principal_id="dr-lin"
        )
    events = await store.events(run_id=result.run_id)
    kinds = [e.kind for e in events]
    assert kinds[0] == EventKind.REQUEST_RECEIVED
    assert kinds[-1] == EventKind.REQUEST_ANSWERED
    assert kinds.count(EventKind.MODEL_CALL) == result.tokens["calls"] == 4
    assert kinds.count(EventKind.FINDING_PRODUCED) == len(result.findings)
    assert EventKind.CITATION_REJECTED in kinds  # the hallucinated citation
    assert all(e.principal_id == "dr-lin" and e.patient_id == "aki-demo" for e in events)
    by_id = {e.event_id: e for e in events}
    # every model call hangs under the node that made it
    for call in (e for e in events if e.kind == EventKind.MODEL_CALL):
        parent = by_id[call.parent_id]
        assert parent.kind == EventKind.NODE_STARTED
        assert parent.payload["node"] in {"route", "history", "labs", "synthesize"}
        first = call.payload["request"]["messages"][0]["content"]
        if parent.payload["node"] == "route":  # the router sees counts, not the record
            assert first.startswith("Role: router.")
        else:
            assert first.startswith("You are wardround")
    assert events[-1].payload["answer"] == result.answer
    report = await store.verify()
    assert report.ok, report
    # application logs: no question text, no name, no raw patient id
    flat = repr(logs)
    assert "creatinine rising" not in flat
    assert "Chen" not in flat
    assert "aki-demo" not in flat
    store.close()


async def test_a_tool_the_model_calls_is_a_tool_call_event(
    tmp_path: Path, patients, scripted_model, round_deps: DepsFactory
) -> None:
    from typing import Any

    from core.model.replies import Reply

    asked: list[str] = []

    def model(body: dict[str, Any]) -> Reply:
        if "tools" in body and not asked:
            asked.append("anion_gap")
            return Reply.tool("anion_gap", {"sodium": 131, "chloride": 98, "bicarbonate": 8})
        if "tools" in body:
            return Reply.text("done")
        return ward_model(body)

    store = AuditStore.open(f"sqlite:///{tmp_path / 'audit.sqlite'}")
    _, client = scripted_model(model)
    deps = round_deps(
        patients=patients, model=client, clock=lambda: NOW, settings={"max_tool_steps": 2}
    )
    result = await ask(
        build_ward_round(deps, InMemorySaver(serde=serde())),
        patient_id="aki-demo",
        question="Why?",
        audit=store,
    )
    events = await store.events(run_id=result.run_id)
    calls = [e for e in events if e.kind == EventKind.TOOL_CALL]
    assert len(calls) == 1
    call = calls[0]
    assert call.payload["tool"] == "anion_gap"
    assert call.payload["error"] is None
    assert call.payload["result"]["value"] == 25  # 131 - (98 + 8)
    parent = {e.event_id: e for e in events}[call.parent_id]
    assert parent.payload["node"] == "labs"
    assert (await store.verify()).ok
    store.close()
