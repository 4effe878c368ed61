"""Appending: a dense, continuous chain across instances, tasks and processes."""

from __future__ import annotations

import asyncio
import itertools
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from core.audit import GENESIS_HASH, AuditStore, EventDraft, EventKind
from core.audit.errors import AuditError
from core.errors import ConfigurationError

AppendMany = Callable[..., Awaitable[list[str]]]


async def test_chain_links_every_event_to_its_predecessor(
    any_store: AuditStore, append_many: AppendMany
) -> None:
    await append_many(any_store, 50)
    events = await any_store.events(run_id="run-1")
    assert [e.seq for e in events] == list(range(1, 51))
    assert events[0].prev_hash == GENESIS_HASH
    for before, after in itertools.pairwise(events):
        assert after.prev_hash == before.hash
    assert all(e.expected_hash() == e.hash for e in events)
    report = await any_store.verify()
    assert report.ok, report.describe()
    assert (report.events_checked, report.head_seq, report.head_hash) == (50, 50, events[-1].hash)


async def test_stored_events_read_back_exactly_as_appended(any_store: AuditStore) -> None:
    draft = EventDraft(
        kind=EventKind.MODEL_CALL,
        run_id="r",
        thread_id="t",
        patient_id="p",
        principal_id="dr-a",
        payload={"messages": [{"role": "user", "content": "Créatinine ↑ 180 µmol/L"}], "t": 0.1},
        duration_ms=12.5,
    )
    appended = await any_store.append(draft)
    (stored,) = await any_store.events(run_id="r")
    assert stored == appended
    assert stored.event_id == draft.event_id


async def test_chain_continues_across_two_store_instances(
    open_sqlite: Callable[..., AuditStore], append_many: AppendMany
) -> None:
    first, second = open_sqlite(), open_sqlite()
    await append_many(first, 5, run_id="a")
    await append_many(second, 5, run_id="b")
    await asyncio.gather(append_many(first, 20, run_id="a"), append_many(second, 20, run_id="b"))
    report = await first.verify()
    assert report.ok, report.describe()
    assert report.events_checked == 50


async def test_concurrent_appends_from_many_tasks_keep_a_valid_chain(
    any_store: AuditStore, append_many: AppendMany
) -> None:
    await asyncio.gather(*(append_many(any_store, 5, run_id=f"run-{i}") for i in range(40)))
    report = await any_store.verify()
    assert report.ok, report.describe()
    assert report.events_checked == 200
    page = await any_store.runs(limit=100)
    assert len(page.runs) == 40
    assert {r.events for r in page.runs} == {5}


_WRITER = """
import asyncio, sys
from core.audit import AuditStore, EventDraft, EventKind
async def main() -> None:
    store = AuditStore.open(sys.argv[1])
    for i in range(int(sys.argv[3])):
        draft = EventDraft(kind=EventKind.TOOL_CALL, run_id=sys.argv[2], payload={"i": i})
        await store.append(draft)
    store.close()
asyncio.run(main())
"""


def test_chain_continues_across_processes_writing_at_once(db_path: Path) -> None:
    url = f"sqlite:///{db_path}"
    AuditStore.open(url).close()  # schema first, so the writers race on appends only
    root = Path(__file__).resolve().parents[2]
    writers = [
        subprocess.Popen([sys.executable, "-c", _WRITER, url, f"proc-{i}", "40"], cwd=root)
        for i in range(3)
    ]
    assert [w.wait(timeout=120) for w in writers] == [0, 0, 0]
    store = AuditStore.open(url)
    try:
        report = asyncio.run(store.verify())
        assert report.ok, report.describe()
        assert report.events_checked == 120
    finally:
        store.close()


def test_in_memory_sqlite_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="SQLite file"):
        AuditStore.open("sqlite://")


def test_unsupported_database_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="unsupported"):
        AuditStore.open("mysql://localhost/audit")


async def test_duplicate_event_id_is_an_audit_error_without_parameters(store: AuditStore) -> None:
    draft = EventDraft(kind=EventKind.ACCESS, payload={"note": "secret note text"})
    await store.append(draft)
    with pytest.raises(AuditError) as caught:
        await store.append(draft)
    assert "secret note text" not in str(caught.value)
    assert "UNIQUE" in str(caught.value)


def test_the_store_from_settings_lives_in_the_data_dir(tmp_path: Path) -> None:
    from core.settings import Settings

    settings = Settings(data_dir=tmp_path / "data")
    store = AuditStore.from_settings(settings)
    try:
        assert store.engine.url.database == str(settings.audit_path.resolve())
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        store.close()
