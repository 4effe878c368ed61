"""Retention: archive a closed segment to JSONL; both the file and the live chain still verify."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from core.audit import AuditChainBroken, AuditStore, EventKind, verify_segment
from core.audit.archive import SEGMENT_FORMAT
from core.audit.errors import AuditError
from core.errors import DataFileError

RawSql = Callable[..., list[tuple[object, ...]]]
AppendMany = Callable[..., Awaitable[list[str]]]


async def test_archive_moves_a_segment_and_the_chain_still_verifies(
    any_store: AuditStore, append_many: AppendMany, tmp_path: Path
) -> None:
    ids = await append_many(any_store, 10)
    await any_store.checkpoint()  # signed head inside the segment that will be archived
    segment = tmp_path / "segment-1.jsonl"

    marker = await any_store.archive(11, segment)

    assert (marker.from_seq, marker.through_seq) == (1, 10)
    live = await any_store.events()
    assert [e.seq for e in live] == [11]
    assert live[0].kind is EventKind.AUDIT_ARCHIVED
    assert live[0].payload["head_hash"] == marker.head_hash
    report = await any_store.verify(check_archive_files=True)
    assert report.ok, report.describe()
    assert (report.archived_segments, report.checkpoints_verified) == (1, 1)

    file_report = verify_segment(segment)
    assert file_report.ok, file_report.describe()
    assert (file_report.events_checked, file_report.head_hash) == (10, marker.head_hash)
    lines = segment.read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0])["format"] == SEGMENT_FORMAT
    assert [json.loads(line)["event_id"] for line in lines[1:]] == ids

    await append_many(any_store, 3)
    second = await any_store.archive(13, tmp_path / "segment-2.jsonl")
    assert (second.from_seq, second.prev_hash) == (11, marker.head_hash)
    assert (await any_store.verify(check_archive_files=True)).ok
    assert verify_segment(tmp_path / "segment-2.jsonl").ok


async def test_rows_outside_an_archived_segment_still_cannot_be_deleted(
    store: AuditStore, ten_events: list[str], tmp_path: Path, raw_sql: RawSql
) -> None:
    await store.archive(5, tmp_path / "s.jsonl")
    for statement in (
        "DELETE FROM audit_events WHERE seq = 6",
        "UPDATE audit_archives SET through_seq = 9",
        "DELETE FROM audit_archives",
    ):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            raw_sql(statement, drop_triggers=False)


async def test_an_edited_segment_file_fails_on_its_own(
    store: AuditStore, ten_events: list[str], tmp_path: Path
) -> None:
    segment = tmp_path / "s.jsonl"
    await store.archive(8, segment)
    lines = segment.read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].replace('"i":2', '"i":20')
    segment.write_text("\n".join(lines) + "\n", encoding="utf-8")

    fault = verify_segment(segment).fault
    assert fault is not None
    assert (fault.problem, fault.seq, fault.event_id) == ("altered", 3, ten_events[2])
    store_fault = (await store.verify(check_archive_files=True)).fault
    assert store_fault is not None
    assert (store_fault.problem, store_fault.seq) == ("archive", 1)
    assert (await store.verify()).ok  # the live chain itself is untouched


async def test_a_segment_file_with_a_dropped_last_line_fails(
    store: AuditStore, ten_events: list[str], tmp_path: Path
) -> None:
    segment = tmp_path / "s.jsonl"
    await store.archive(8, segment)
    lines = segment.read_text(encoding="utf-8").splitlines()
    segment.write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    fault = verify_segment(segment).fault
    assert fault is not None
    assert (fault.problem, fault.seq) == ("missing", 7)


def test_a_file_that_is_not_a_segment_is_a_data_file_error(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.jsonl"
    bogus.write_text('{"hello": 1}\n', encoding="utf-8")
    with pytest.raises(DataFileError, match=r"bogus\.jsonl"):
        verify_segment(bogus)


async def test_a_forged_archive_marker_does_not_hide_deleted_rows(
    store: AuditStore, ten_events: list[str], raw_sql: RawSql
) -> None:
    head = raw_sql("SELECT hash FROM audit_events WHERE seq = 4")[0][0]
    raw_sql(
        "INSERT INTO audit_archives (from_seq, through_seq, prev_hash, head_hash, file_name,"
        f" file_sha256, event_id, ts) VALUES (1, 4, '{'0' * 64}', '{head}', 'x', 'y', 'z', 'now')",
        "DELETE FROM audit_events WHERE seq <= 4",
    )
    fault = (await store.verify()).fault
    assert fault is not None
    assert (fault.problem, fault.seq) == ("archive", 1)


async def test_a_broken_segment_is_not_archived(
    store: AuditStore, ten_events: list[str], tmp_path: Path, raw_sql: RawSql
) -> None:
    raw_sql("DELETE FROM audit_events WHERE seq = 3")
    with pytest.raises(AuditChainBroken, match="missing at seq 3"):
        await store.archive(6, tmp_path / "s.jsonl")
    assert not (tmp_path / "s.jsonl").exists()
    assert not (tmp_path / "s.jsonl.part").exists()
    assert len(await store.events()) == 9


@pytest.mark.parametrize("before_seq", [1, 12])
async def test_archive_bounds(
    store: AuditStore, ten_events: list[str], tmp_path: Path, before_seq: int
) -> None:
    with pytest.raises(AuditError, match="nothing to archive"):
        await store.archive(before_seq, tmp_path / "s.jsonl")


async def test_appends_continue_the_chain_after_archiving_everything(
    store: AuditStore, ten_events: list[str], tmp_path: Path, append_many: AppendMany
) -> None:
    await store.archive(11, tmp_path / "a.jsonl")
    await store.archive(12, tmp_path / "b.jsonl")  # archives the first marker event too
    await append_many(store, 2)
    report = await store.verify(check_archive_files=True)
    assert report.ok, report.describe()
    assert (report.first_seq, report.head_seq, report.archived_segments) == (12, 14, 2)
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT min(seq) FROM audit_events")).scalar() == 12
