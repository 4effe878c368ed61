"""Converting events to and from their stored rows, and row look-ups shared by the store parts."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, select

from core.audit.events import AuditEvent, canonical_json, format_ts, parse_ts
from core.audit.schema import events
from core.audit.verify import Locator, Row

ROWS_PER_FETCH = 1000


def to_row(event: AuditEvent) -> dict[str, Any]:
    row = event.model_dump()
    row.update(
        ts=format_ts(event.ts),
        kind=event.kind.value,
        payload=canonical_json(event.payload).decode("utf-8"),
    )
    return row


def parsed(row: Any) -> dict[str, Any]:
    """A stored row as a mapping, ``payload`` parsed from its JSON text (as the hash expects).

    A payload edited into invalid JSON is kept as its raw text: verification then reports the
    event as altered instead of failing.
    """
    mapping = dict(row._mapping)
    with contextlib.suppress(TypeError, ValueError):
        mapping["payload"] = json.loads(mapping["payload"])
    return mapping


def from_row(row: Any) -> AuditEvent:
    mapping = parsed(row)
    mapping["ts"] = parse_ts(mapping["ts"])
    return AuditEvent.model_validate(mapping)


def iter_rows(conn: Connection, *, from_seq: int = 1, to_seq: int | None = None) -> Iterator[Row]:
    """Stored events in ``seq`` order, fetched in pages so a long chain is never held in memory."""
    cursor = from_seq
    while True:
        stmt = select(events).where(events.c.seq >= cursor)
        if to_seq is not None:
            stmt = stmt.where(events.c.seq <= to_seq)
        page = conn.execute(stmt.order_by(events.c.seq).limit(ROWS_PER_FETCH)).all()
        for row in page:
            yield parsed(row)
        if len(page) < ROWS_PER_FETCH:
            return
        cursor = int(page[-1].seq) + 1


def db_locator(conn: Connection) -> Locator:
    def by_hash(value: str) -> Row | None:
        row = conn.execute(select(events).where(events.c.hash == value).limit(1)).first()
        return parsed(row) if row is not None else None

    def by_prev_hash(value: str) -> Row | None:
        row = conn.execute(select(events).where(events.c.prev_hash == value).limit(1)).first()
        return parsed(row) if row is not None else None

    return Locator(by_hash, by_prev_hash)
