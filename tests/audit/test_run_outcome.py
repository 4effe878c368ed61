"""Each run summary says how the run ended (``RunOutcome``), and the run list filters on it: on
SQLite always, on PostgreSQL when it is there. The trails are the ones ``graphs.run`` writes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.audit import RUN_FAILED, AuditStore, EventKind

ANSWER = {"answer": "Reduce the dose.", "degraded": False, "citations": []}


async def _trail(store: AuditStore, run_id: str, *ends: tuple[EventKind, dict[str, Any]]) -> None:
    recorder = store.recorder(run_id=run_id, thread_id=f"thread-{run_id}", patient_id="pat-1")
    await recorder.emit(EventKind.REQUEST_RECEIVED, {"question": "is enoxaparin safe?"})
    for kind, payload in ends:
        await recorder.emit(kind, payload)


async def _four_runs(store: AuditStore) -> None:
    """One run that ends each way, oldest first."""
    await _trail(store, "run-answered", (EventKind.REQUEST_ANSWERED, ANSWER))
    paused = {**ANSWER, "pending_approval": True}
    await _trail(store, "run-paused", (EventKind.REQUEST_ANSWERED, paused))
    failure = {"where": RUN_FAILED, "error": {"type": "RecordNotFound", "message": "no pat-1"}}
    await _trail(store, "run-failed", (EventKind.ERROR, failure))
    await _trail(store, "run-unfinished")


async def test_each_run_says_how_it_ended(any_store: AuditStore) -> None:
    await _four_runs(any_store)
    page = await any_store.runs()
    assert [(r.run_id, r.outcome) for r in page.runs] == [
        ("run-unfinished", "unfinished"),
        ("run-failed", "failed"),
        ("run-paused", "paused_for_approval"),
        ("run-answered", "answered"),
    ]
    assert [r.errors for r in page.runs] == [0, 1, 0, 0]


async def test_runs_are_filtered_by_outcome_before_paging(any_store: AuditStore) -> None:
    await _four_runs(any_store)
    for outcome in ("answered", "paused_for_approval", "failed", "unfinished"):
        page = await any_store.runs(outcome=outcome)
        assert [r.outcome for r in page.runs] == [outcome], outcome
    await _trail(any_store, "run-answered-2", (EventKind.REQUEST_ANSWERED, ANSWER))
    await _trail(any_store, "run-answered-3", (EventKind.REQUEST_ANSWERED, ANSWER))
    first = await any_store.runs(outcome="answered", limit=2)
    assert [r.run_id for r in first.runs] == ["run-answered-3", "run-answered-2"]
    rest = await any_store.runs(outcome="answered", limit=2, cursor=first.next_cursor)
    assert ([r.run_id for r in rest.runs], rest.next_cursor) == (["run-answered"], None)
    assert (await any_store.runs(outcome="failed", patient="pat-2")).runs == []


async def test_only_the_run_failure_and_the_answer_flag_decide(any_store: AuditStore) -> None:
    """Another error event, or text that merely mentions the members, changes nothing."""
    step_error = {"where": "node", "error": {"type": "Timeout", "message": '"where":"run"'}}
    answer = {**ANSWER, "answer": 'quoting {"pending_approval":true}', "pending_approval": False}
    await _trail(
        any_store,
        "run-recovered",
        (EventKind.ERROR, step_error),
        (EventKind.REQUEST_ANSWERED, answer),
    )
    await _trail(any_store, "run-stuck", (EventKind.ERROR, step_error))
    outcomes = {r.run_id: (r.outcome, r.errors) for r in (await any_store.runs()).runs}
    assert outcomes == {"run-recovered": ("answered", 1), "run-stuck": ("unfinished", 1)}


async def test_the_run_list_survives_a_payload_edited_into_invalid_json(
    store: AuditStore, raw_sql: Callable[..., list[tuple[object, ...]]]
) -> None:
    """Tampering is for ``verify`` to report; the auditor can still list the runs to look."""
    await _four_runs(store)
    raw_sql("UPDATE audit_events SET payload = '{\"pending_approval\":true' WHERE kind = 'error'")
    outcomes = {r.run_id: r.outcome for r in (await store.runs()).runs}
    assert outcomes["run-failed"] == "unfinished"  # its failure no longer reads as one
    assert outcomes["run-paused"] == "paused_for_approval"
    assert not (await store.verify()).ok
