"""``AuditStore``: the append-only, hash-chained record of every run.

Concurrency model: a synchronous SQLAlchemy Core engine whose calls run in worker threads
(``asyncio.to_thread``). Chosen over SQLAlchemy's asyncio engine because (1) the SQLite writer lock
is taken with ``BEGIN IMMEDIATE`` through the documented pysqlite event hooks, which aiosqlite's
adapter does not expose as cleanly, (2) verification and archiving walk long chains with CPU work
per row that should not run on the event loop anyway, and (3) the CLI and scripts use the same code
without an event loop. Appends are serialised twice: a process-local lock (threads of one process
queue instead of spinning on SQLite's busy timeout) and the database writer lock (``BEGIN
IMMEDIATE`` on SQLite, an advisory transaction lock on Postgres) taken *before* the chain head is
read, so the chain continues correctly across processes.

Nothing here updates or deletes an event, except ``archive``, which exports a closed segment, then
records the marker that lets the append-only triggers accept the deletion of exactly that segment.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Connection, Engine, delete, insert, select
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from core.audit import archive as segments
from core.audit.engine import audit_url, create_audit_engine, writer_engine, writer_lock
from core.audit.errors import AuditChainBroken, AuditError, AuditKeyMissing
from core.audit.events import GENESIS_HASH, AuditEvent, EventDraft, EventKind, format_ts
from core.audit.rows import db_locator, from_row, iter_rows, to_row
from core.audit.runs import RunOutcome, RunPage, RunTree, query_run, query_runs
from core.audit.schema import archives, checkpoints, create_schema, events
from core.audit.signing import sign_head
from core.audit.store_verify import verify_store
from core.audit.verify import VerifyReport
from core.logging import get_logger
from core.settings import Settings

if TYPE_CHECKING:
    from core.audit.recorder import Recorder

log = get_logger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


Listener = Callable[[AuditEvent], Awaitable[None]]
"""Told of each event appended through ``append`` (OpenTelemetry export listens this way)."""


class Checkpoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    seq: int
    head_hash: str
    ts: str
    signature: str


class AuditStore:
    """Append, read back and verify the audit chain. Build one per process and share it."""

    def __init__(
        self,
        engine: Engine,
        *,
        checkpoint_key: bytes | None = None,
        checkpoint_every: int | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._engine = engine
        self._writer = writer_engine(engine)
        # Readers see one snapshot for a whole walk (SQLite: a deferred BEGIN already does).
        self._reader = (
            engine.execution_options(isolation_level="REPEATABLE READ")
            if engine.dialect.name == "postgresql"
            else engine
        )
        self._key = checkpoint_key
        self._every = checkpoint_every
        self._clock = clock
        self._write_lock = threading.Lock()
        self._listeners: list[Listener] = []
        with self._guard("create the schema"), self._writer.begin() as conn:
            writer_lock(conn)
            create_schema(conn)

    @classmethod
    def open(cls, url: str, **options: Any) -> AuditStore:
        return cls(create_audit_engine(url), **options)

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> AuditStore:
        """The store the configuration names (``WARDROUND_AUDIT_DSN`` or the data dir's SQLite)."""
        return cls.open(audit_url(settings), **options)

    @property
    def engine(self) -> Engine:
        return self._engine

    def close(self) -> None:
        self._engine.dispose()

    def recorder(self, **ids: str | None) -> Recorder:
        """A ``Recorder`` bound to run/thread/patient/principal ids (keyword arguments)."""
        from core.audit.recorder import Recorder

        return Recorder(self, **ids)

    # --- writing -------------------------------------------------------------------------------

    def add_listener(self, listener: Listener) -> None:
        """Await ``listener(event)`` after each ``append`` (not ``append_sync``: the synchronous
        path serves worker threads, e.g. ``kg.query`` events). A listener must not raise."""
        self._listeners.append(listener)

    async def append(self, draft: EventDraft) -> AuditEvent:
        event = await asyncio.to_thread(self.append_sync, draft)
        for listener in self._listeners:
            await listener(event)
        return event

    def append_sync(self, draft: EventDraft) -> AuditEvent:
        with self._write_lock, self._guard("append an event"), self._writer.begin() as conn:
            writer_lock(conn)
            event = self._append_in(conn, draft)
            if self._key is not None and self._every and event.seq % self._every == 0:
                self._checkpoint_in(conn, self._key)
        log.debug("audit.appended", seq=event.seq, kind=event.kind.value, run_id=event.run_id)
        return event

    def _append_in(self, conn: Connection, draft: EventDraft) -> AuditEvent:
        seq, prev_hash = _head(conn)
        event = AuditEvent.seal(draft, seq=seq + 1, ts=self._clock(), prev_hash=prev_hash)
        conn.execute(insert(events).values(**to_row(event)))
        return event

    async def checkpoint(self) -> Checkpoint:
        """Sign the current chain head with the configured key."""
        if self._key is None:
            raise AuditKeyMissing("no audit checkpoint key configured (WARDROUND_AUDIT_KEY)")
        key = self._key
        return await asyncio.to_thread(self._locked_write, "checkpoint", self._checkpoint_in, key)

    def _checkpoint_in(self, conn: Connection, key: bytes) -> Checkpoint:
        seq, head_hash = _head(conn)
        if seq == 0:
            raise AuditError("nothing to checkpoint: the audit chain is empty")
        ts = format_ts(self._clock())
        signature = sign_head(key, seq=seq, head_hash=head_hash, ts=ts)
        conn.execute(
            insert(checkpoints).values(seq=seq, head_hash=head_hash, ts=ts, signature=signature)
        )
        log.info("audit.checkpoint", seq=seq)
        return Checkpoint(seq=seq, head_hash=head_hash, ts=ts, signature=signature)

    async def archive(self, before_seq: int, path: Path) -> segments.ArchiveMarker:
        """Move events with ``seq < before_seq`` to a JSONL segment file at ``path``.

        The segment must verify; the file is written (and fsynced) before the rows are deleted,
        all inside the writer transaction. An ``audit.archived`` event records it in the chain.
        """
        return await asyncio.to_thread(
            self._locked_write, "archive a segment", self._archive_in, before_seq, Path(path)
        )

    def _archive_in(self, conn: Connection, before_seq: int, path: Path) -> segments.ArchiveMarker:
        from_seq, prev_hash = _anchor(conn)
        head_seq, _ = _head(conn)
        if not from_seq < before_seq <= head_seq + 1:
            raise AuditError(f"nothing to archive before seq {before_seq} (live: {from_seq}..)")
        summary = segments.write_segment(
            iter_rows(conn, from_seq=from_seq, to_seq=before_seq - 1),
            path,
            from_seq=from_seq,
            prev_hash=prev_hash,
            locator=db_locator(conn),
        )
        if summary.through_seq != before_seq - 1:
            raise AuditChainBroken(
                f"events {summary.through_seq + 1}..{before_seq - 1} are missing; not archived",
                seq=summary.through_seq + 1,
            )
        fields = summary.model_dump() | {"file_name": str(path.resolve())}
        archived = self._append_in(conn, EventDraft(kind=EventKind.AUDIT_ARCHIVED, payload=fields))
        marker = segments.ArchiveMarker(
            **fields, event_id=archived.event_id, ts=format_ts(archived.ts)
        )
        conn.execute(insert(archives).values(**marker.model_dump()))
        conn.execute(delete(events).where(events.c.seq < before_seq))
        log.info("audit.archived", from_seq=from_seq, through_seq=summary.through_seq)
        return marker

    def _locked_write(self, action: str, work: Callable[..., Any], *args: Any) -> Any:
        with self._write_lock, self._guard(action), self._writer.begin() as conn:
            writer_lock(conn)
            return work(conn, *args)

    # --- reading -------------------------------------------------------------------------------

    async def runs(
        self,
        *,
        patient: str | None = None,
        principal: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        outcome: RunOutcome | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> RunPage:
        """Run summaries, newest first; ``outcome`` keeps the runs that ended that way."""
        filters = {"patient": patient, "principal": principal, "since": since, "until": until}
        return await asyncio.to_thread(
            self._read, query_runs, **filters, outcome=outcome, limit=limit, cursor=cursor
        )

    async def run(self, run_id: str) -> RunTree:
        """One run as a tree (request → nodes → model calls → tool calls → KG queries)."""
        tree: RunTree = await asyncio.to_thread(self._read, query_run, run_id)
        return tree

    async def events(
        self, *, run_id: str | None = None, patient_id: str | None = None
    ) -> list[AuditEvent]:
        """Live events of one run and/or one patient, in chain order."""
        return await asyncio.to_thread(self._read, _select_events, run_id, patient_id)

    async def verify(self, *, check_archive_files: bool = False) -> VerifyReport:
        """Walk the chain, checkpoints and archive markers; name the first fault found."""
        return await asyncio.to_thread(
            self._read, verify_store, self._key, check_archive_files=check_archive_files
        )

    def _read(self, work: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with self._guard("read"), self._reader.begin() as conn:
            return work(conn, *args, **kwargs)

    @contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        """Database errors become ``AuditError`` naming the action, never the parameters (PHI)."""
        try:
            yield
        except DBAPIError as exc:
            raise AuditError(f"audit store could not {action}: {exc.orig}") from exc
        except SQLAlchemyError as exc:
            raise AuditError(f"audit store could not {action}: {type(exc).__name__}") from exc


def _head(conn: Connection) -> tuple[int, str]:
    """The last ``seq`` and hash of the chain, live or archived."""
    row = conn.execute(
        select(events.c.seq, events.c.hash).order_by(events.c.seq.desc()).limit(1)
    ).first()
    if row is not None:
        return int(row.seq), str(row.hash)
    from_seq, prev_hash = _anchor(conn)
    return from_seq - 1, prev_hash


def _anchor(conn: Connection) -> tuple[int, str]:
    """Where the live chain starts: after the newest archived segment, or at the genesis."""
    marker = conn.execute(
        select(archives.c.through_seq, archives.c.head_hash)
        .order_by(archives.c.through_seq.desc())
        .limit(1)
    ).first()
    if marker is None:
        return 1, GENESIS_HASH
    return int(marker.through_seq) + 1, str(marker.head_hash)


def _select_events(
    conn: Connection, run_id: str | None, patient_id: str | None
) -> list[AuditEvent]:
    stmt = select(events).order_by(events.c.seq)
    if run_id is not None:
        stmt = stmt.where(events.c.run_id == run_id)
    if patient_id is not None:
        stmt = stmt.where(events.c.patient_id == patient_id)
    return [from_row(row) for row in conn.execute(stmt)]
