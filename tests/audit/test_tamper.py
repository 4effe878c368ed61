"""Tampering the attacker's way: edit the database file with sqlite3, triggers dropped first."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Awaitable, Callable
from contextlib import closing
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import text

from core.audit import AuditChainBroken, AuditStore, checkpoint_key
from core.audit.errors import AuditError, AuditKeyMissing
from core.audit.events import chain_hash, event_body

RawSql = Callable[..., list[tuple[object, ...]]]


async def test_update_and_delete_are_refused_by_triggers(
    store: AuditStore, ten_events: list[str], raw_sql: RawSql
) -> None:
    for statement in (
        "UPDATE audit_events SET payload = '{}' WHERE seq = 3",
        "DELETE FROM audit_events WHERE seq = 3",
        "DELETE FROM audit_events",
    ):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            raw_sql(statement, drop_triggers=False)
    assert (await store.verify()).ok


async def test_triggers_guard_every_table_on_every_backend(any_store: AuditStore) -> None:
    await any_store.recorder(run_id="r").emit("access", {"what": "record"})
    await any_store.checkpoint()
    for statement in (
        "UPDATE audit_events SET kind = 'error'",
        "DELETE FROM audit_events",
        "UPDATE audit_checkpoints SET seq = 2",
        "DELETE FROM audit_checkpoints",
    ):  # audit_archives: see test_archive (row triggers need a row)
        with pytest.raises(Exception, match="append-only"), any_store.engine.begin() as conn:
            conn.execute(text(statement))
    if any_store.engine.dialect.name == "postgresql":
        with pytest.raises(Exception, match="append-only"), any_store.engine.begin() as conn:
            conn.execute(text("TRUNCATE audit_events CASCADE"))
    assert (await any_store.verify()).ok


async def test_an_edited_payload_field_is_named_as_altered(
    store: AuditStore, ten_events: list[str], raw_sql: RawSql
) -> None:
    raw_sql("""UPDATE audit_events SET payload = '{"i":40}' WHERE seq = 5""")
    report = await store.verify()
    assert report.fault is not None
    assert (report.fault.problem, report.fault.seq) == ("altered", 5)
    assert report.fault.event_id == ten_events[4]
    assert report.events_checked == 4


@pytest.mark.parametrize(
    "edit",
    [
        "patient_id = 'pat-2'",
        "ts = '2020-01-01T00:00:00.000000Z'",
        "kind = 'access'",
        "payload = 'not json'",
        "duration_ms = 1.5",
    ],
)
async def test_any_edited_column_is_named_as_altered(
    store: AuditStore, ten_events: list[str], raw_sql: RawSql, edit: str
) -> None:
    raw_sql(f"UPDATE audit_events SET {edit} WHERE seq = 7")
    fault = (await store.verify()).fault
    assert fault is not None
    assert (fault.problem, fault.seq, fault.event_id) == ("altered", 7, ten_events[6])


async def test_a_deleted_row_is_named_as_missing(
    store: AuditStore, ten_events: list[str], raw_sql: RawSql
) -> None:
    raw_sql("DELETE FROM audit_events WHERE seq = 5")
    report = await store.verify()
    assert report.fault is not None
    assert (report.fault.problem, report.fault.seq) == ("missing", 5)
    assert ten_events[5] in report.fault.detail  # where the chain resumes
    with pytest.raises(AuditChainBroken, match="missing at seq 5") as caught:
        report.raise_for_fault()
    assert caught.value.seq == 5


async def test_a_deleted_first_row_is_named_as_missing(
    store: AuditStore, ten_events: list[str], raw_sql: RawSql
) -> None:
    raw_sql("DELETE FROM audit_events WHERE seq = 1")
    fault = (await store.verify()).fault
    assert fault is not None
    assert (fault.problem, fault.seq) == ("missing", 1)


def _swap(db_path: Path, a: int, b: int) -> None:
    """Swap two events' contents, keeping their positions (seq), as an attacker would."""
    with closing(sqlite3.connect(db_path)) as conn:
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'"):
            conn.execute(f"DROP TRIGGER {name}")
        cols = [r[1] for r in conn.execute("PRAGMA table_info(audit_events)")]
        rows = {
            seq: conn.execute("SELECT * FROM audit_events WHERE seq = ?", (seq,)).fetchone()
            for seq in (a, b)
        }
        conn.execute("DELETE FROM audit_events WHERE seq IN (?, ?)", (a, b))
        marks = ",".join("?" * len(cols))
        for target, source in ((a, b), (b, a)):
            values = dict(zip(cols, rows[source], strict=True)) | {"seq": target}
            conn.execute(f"INSERT INTO audit_events VALUES ({marks})", [values[c] for c in cols])
        conn.commit()


@pytest.mark.parametrize(("a", "b"), [(3, 7), (4, 5), (9, 10), (1, 2)])
async def test_swapped_rows_are_named_as_reordered(
    store: AuditStore, ten_events: list[str], db_path: Path, a: int, b: int
) -> None:
    _swap(db_path, a, b)
    fault = (await store.verify()).fault
    assert fault is not None
    assert (fault.problem, fault.seq, fault.event_id) == ("reordered", a, ten_events[b - 1])
    assert f"written at seq {b}" in fault.detail


async def test_a_rewritten_chain_passes_the_hashes_but_fails_the_signed_checkpoint(
    store: AuditStore,
    append_many: Callable[..., Awaitable[list[str]]],
    db_path: Path,
    raw_sql: RawSql,
) -> None:
    await append_many(store, 8)
    await store.checkpoint()
    await append_many(store, 4)
    raw_sql("""UPDATE audit_events SET payload = '{"i":99}' WHERE seq = 5""")
    _rehash_from(db_path, 5)
    report = await store.verify()
    assert report.fault is not None
    assert (report.fault.problem, report.fault.seq) == ("checkpoint", 8)
    assert "rewritten" in report.fault.detail


def _rehash_from(db_path: Path, start: int) -> None:
    """Recompute every hash from ``start`` on: a consistent forgery of the chain's tail."""
    with closing(sqlite3.connect(db_path)) as conn:
        conn.row_factory = sqlite3.Row
        prev = conn.execute("SELECT hash FROM audit_events WHERE seq = ?", (start - 1,)).fetchone()
        prev_hash = prev["hash"]
        for row in conn.execute("SELECT * FROM audit_events WHERE seq >= ? ORDER BY seq", (start,)):
            fields = dict(zip(row.keys(), row, strict=True))
            fields.update(payload=json.loads(fields["payload"]), prev_hash=prev_hash)
            new_hash = chain_hash(prev_hash, event_body(fields))
            conn.execute(
                "UPDATE audit_events SET prev_hash = ?, hash = ? WHERE seq = ?",
                (prev_hash, new_hash, row["seq"]),
            )
            prev_hash = new_hash
        conn.commit()


async def test_a_truncated_tail_is_caught_by_a_later_checkpoint(
    store: AuditStore, ten_events: list[str], raw_sql: RawSql
) -> None:
    await store.checkpoint()
    raw_sql("DELETE FROM audit_events WHERE seq >= 9")
    fault = (await store.verify()).fault
    assert fault is not None
    assert (fault.problem, fault.seq) == ("missing", 9)
    assert "checkpoint signed seq 10" in fault.detail


async def test_checkpoint_signature_fails_with_a_wrong_key(
    open_sqlite: Callable[..., AuditStore], ten_events: list[str]
) -> None:
    writer = open_sqlite()
    checkpoint = await writer.checkpoint()
    assert (checkpoint.seq, len(checkpoint.signature)) == (10, 64)
    assert (await writer.verify()).checkpoints_verified == 1

    wrong = await open_sqlite(checkpoint_key=b"w" * 32).verify()
    assert wrong.fault is not None
    assert (wrong.fault.problem, wrong.fault.seq) == ("checkpoint", 10)
    assert "signature" in wrong.fault.detail

    keyless = await open_sqlite(checkpoint_key=None).verify()
    assert keyless.ok
    assert (keyless.checkpoints_verified, keyless.checkpoints_unchecked) == (0, 1)


async def test_a_forged_signature_is_caught(
    store: AuditStore, ten_events: list[str], raw_sql: RawSql
) -> None:
    await store.checkpoint()
    raw_sql(f"UPDATE audit_checkpoints SET signature = '{'0' * 64}'")
    fault = (await store.verify()).fault
    assert fault is not None
    assert fault.problem == "checkpoint"


async def test_tampering_is_caught_on_postgres_too(any_store: AuditStore) -> None:
    recorder = any_store.recorder(run_id="r")
    ids = [await recorder.emit("tool.call", {"i": i}) for i in range(5)]
    with any_store.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER audit_events_no_update"))
        conn.execute(text("UPDATE audit_events SET payload = :p WHERE seq = 3"), {"p": '{"i":7}'})
    fault = (await any_store.verify()).fault
    assert fault is not None
    assert (fault.problem, fault.seq, fault.event_id) == ("altered", 3, ids[2])


async def test_periodic_checkpoints_are_written_by_appends(
    open_sqlite: Callable[..., AuditStore], append_many: Callable[..., Awaitable[list[str]]]
) -> None:
    store = open_sqlite(checkpoint_every=5)
    await append_many(store, 12)
    report = await store.verify()
    assert report.ok, report.describe()
    assert report.checkpoints_verified == 2


async def test_checkpoints_need_a_key_and_a_chain(open_sqlite: Callable[..., AuditStore]) -> None:
    with pytest.raises(AuditError, match="empty"):
        await open_sqlite().checkpoint()
    with pytest.raises(AuditKeyMissing, match="WARDROUND_AUDIT_KEY"):
        await open_sqlite(checkpoint_key=None).checkpoint()


@pytest.mark.parametrize(
    ("configured", "expected"),
    [(None, None), ("", None), (SecretStr("s" * 32), b"s" * 32), ("é" * 16, "é".encode() * 16)],
)
def test_checkpoint_key_from_configuration(configured: object, expected: bytes | None) -> None:
    assert checkpoint_key(configured) == expected  # type: ignore[arg-type]


def test_a_short_checkpoint_key_is_refused() -> None:
    with pytest.raises(AuditKeyMissing, match="at least 32 bytes"):
        checkpoint_key("too-short")
