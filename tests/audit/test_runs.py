"""Recording runs with a Recorder and reading them back: summaries, pages, the run tree."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
import structlog

from core.audit import (
    AuditRunNotFound,
    AuditStore,
    EventKind,
    InvalidAuditEvent,
    Recorder,
    RunNode,
)

NOTE = "Pt c/o SOB overnight; wife reports confusion. Mrs Jane Doe, 12 Rose St."


async def _ward_round(recorder: Recorder) -> None:
    """The shape the graph records: request → nodes → model call → tool call → KG query."""
    await recorder.emit(EventKind.REQUEST_RECEIVED, {"question": "is enoxaparin safe?"})
    async with recorder.node("lab_interpreter") as node:
        async with recorder.span(EventKind.MODEL_CALL, {"request": {"note": NOTE}}) as call:
            async with recorder.span(EventKind.TOOL_CALL, {"tool": "egfr"}) as tool:
                async with recorder.span(EventKind.KG_QUERY, {"query": "monitoring_for"}) as kg:
                    kg.record(result_ids=["kg:Drug/67108"])
                tool.record(result={"egfr": 28})
            call.record(response="eGFR 28: reduce dose", tokens={"prompt": 120})
        node.record(findings=1)
    await recorder.emit(EventKind.REQUEST_ANSWERED, {"answer": "Reduce the dose."})


def _shape(node: RunNode) -> object:
    kind = node.event.kind.value
    return (kind, [_shape(child) for child in node.children]) if node.children else kind


async def test_run_tree_nests_nodes_model_calls_tool_calls_and_kg_queries(
    store: AuditStore,
) -> None:
    await _ward_round(store.recorder(run_id="run-1", patient_id="pat-1", principal_id="dr-a"))
    tree = await store.run("run-1")
    assert tree.events == 7
    assert [_shape(root) for root in tree.roots] == [
        "request.received",
        (
            "node.started",
            [("model.call", [("tool.call", ["kg.query"])]), "node.finished"],
        ),
        "request.answered",
    ]
    model_call = tree.roots[1].children[0]
    assert model_call.event.duration_ms is not None
    assert model_call.event.payload["response"] == "eGFR 28: reduce dose"
    assert model_call.children[0].children[0].event.payload["result_ids"] == ["kg:Drug/67108"]
    assert tree.roots[1].children[1].event.payload == {"node": "lab_interpreter", "findings": 1}


async def test_parallel_specialists_keep_their_own_parents(store: AuditStore) -> None:
    recorder = store.recorder(run_id="run-2")

    async def specialist(name: str) -> None:
        async with recorder.node(name):
            await asyncio.sleep(0)
            await recorder.emit(EventKind.FINDING_PRODUCED, {"by": name})

    await asyncio.gather(*(specialist(n) for n in ("history", "labs", "imaging", "guidelines")))
    tree = await store.run("run-2")
    assert len(tree.roots) == 4
    for root in tree.roots:
        name = root.event.payload["node"]
        finding = next(c for c in root.children if c.event.kind is EventKind.FINDING_PRODUCED)
        assert finding.event.payload == {"by": name}


async def test_a_failing_step_is_recorded_and_the_error_propagates(store: AuditStore) -> None:
    recorder = store.recorder(run_id="run-3")
    with pytest.raises(TimeoutError):
        async with recorder.span(EventKind.MODEL_CALL, {"model": "smollm2"}):
            raise TimeoutError("first token")
    (event,) = await store.events(run_id="run-3")
    assert event.payload["error"] == {"type": "TimeoutError", "message": "first token"}


async def test_runs_are_paged_newest_first_and_filtered(store: AuditStore) -> None:
    started = datetime.now(UTC) - timedelta(seconds=1)
    for i in range(7):
        recorder = store.recorder(
            run_id=f"run-{i}", patient_id=f"pat-{i % 2}", principal_id="dr-a" if i < 5 else "dr-b"
        )
        await recorder.emit(EventKind.REQUEST_RECEIVED, {"i": i})
        await recorder.emit(EventKind.ERROR, {"i": i})
    first = await store.runs(limit=3)
    assert [r.run_id for r in first.runs] == ["run-6", "run-5", "run-4"]
    assert first.runs[0].events == 2
    assert first.runs[0].errors == 1
    second = await store.runs(limit=3, cursor=first.next_cursor)
    last = await store.runs(limit=3, cursor=second.next_cursor)
    assert [r.run_id for r in second.runs + last.runs] == ["run-3", "run-2", "run-1", "run-0"]
    assert last.next_cursor is None

    by_patient = await store.runs(patient="pat-1")
    assert {r.run_id for r in by_patient.runs} == {"run-1", "run-3", "run-5"}
    by_principal = await store.runs(principal="dr-b")
    assert {r.run_id for r in by_principal.runs} == {"run-5", "run-6"}
    assert len((await store.runs(since=started)).runs) == 7
    assert (await store.runs(since=started + timedelta(hours=1))).runs == []
    assert (await store.runs(until=started)).runs == []


async def test_an_unknown_run_is_not_found(store: AuditStore) -> None:
    with pytest.raises(AuditRunNotFound):
        await store.run("nope")


async def test_recording_note_text_puts_none_of_it_in_application_logs(
    store: AuditStore,
) -> None:
    with structlog.testing.capture_logs() as logs:
        await _ward_round(store.recorder(run_id="run-9", patient_id="MRN-4711"))
        await store.checkpoint()
        await store.verify()
    assert logs, "the store logs its appends (without payloads)"
    dumped = repr(logs)
    for secret in (NOTE, "Jane Doe", "enoxaparin", "Reduce the dose", "MRN-4711"):
        assert secret not in dumped
    (stored,) = [e for e in await store.events(run_id="run-9") if e.kind == "model.call"]
    assert stored.payload["request"]["note"] == NOTE  # the full payload lives in the store


@pytest.mark.parametrize(
    ("kind", "payload"),
    [("not.a.kind", {"note": NOTE}), (EventKind.ERROR, {"note": NOTE, "x": float("nan")})],
)
async def test_an_invalid_event_is_refused_without_echoing_its_content(
    store: AuditStore, kind: str, payload: dict[str, object]
) -> None:
    with pytest.raises(InvalidAuditEvent) as caught:
        await store.recorder(run_id="r").emit(kind, payload)
    assert NOTE not in str(caught.value)
    assert (await store.verify()).describe() == "chain intact: no live events"
