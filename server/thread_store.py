"""Threads: which patient and owner each thread belongs to, and one writer per thread.

The conversation itself lives in the LangGraph checkpointer, keyed by the thread id; this table
holds what the API needs to authorize a request on a thread. It lives where the checkpoints live,
so API replicas share it (ARCHITECTURE §6: the API is stateless):

- embedded default: SQLite ``server.sqlite`` under the data dir (one server process);
- with ``WARDROUND_CHECKPOINT_DSN`` (PostgreSQL): a ``threads`` table in that database (beside
  LangGraph's ``checkpoint*`` tables), so a thread opened through one replica is found, continued
  and approved through any other.

The table is the one earlier versions kept in ``server.sqlite``: existing threads stay.

**One writer per thread** (``writer``): questions and approvals on a thread run one after another.
Within a process an ``asyncio.Lock`` queues them; on PostgreSQL a session advisory lock keyed by
the thread id also queues them across replicas. It is taken by polling ``pg_try_advisory_lock``
(never a blocking wait in a worker thread) on a connection of the turn's own, and released with
``pg_advisory_unlock_all`` when the turn ends however it ends, so a request cancelled while it
waits (or just as the lock was granted) leaves no lock behind.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Column, MetaData, String, Table, create_engine, event, select, text
from sqlalchemy.engine import URL, Engine, make_url

from core.database import postgres_engine
from core.errors import ConfigurationError
from core.settings import Settings

THREADS = Table(
    "threads",
    MetaData(),
    Column("id", String, primary_key=True),
    Column("patient_id", String, nullable=False),
    Column("owner_id", String, nullable=False),
    Column("created_at", String, nullable=False),
)
LOCK_POLL_S = 0.05
"""How often a writer waiting on another replica's turn asks for the thread's lock again."""


@dataclass(frozen=True)
class ThreadRow:
    id: str
    patient_id: str
    owner_id: str
    created_at: str


def threads_url(settings: Settings) -> URL:
    """Where the thread table lives: the checkpoint database when one is configured."""
    if settings.checkpoint_dsn:
        url = make_url(settings.checkpoint_dsn)
        if url.get_backend_name() != "postgresql":
            raise ConfigurationError(
                f"WARDROUND_CHECKPOINT_DSN: expected postgresql://..., not {url.drivername!r}"
            )
        return url
    return make_url(f"sqlite:///{settings.ensure_data_dir() / 'server.sqlite'}")


def _engine(url: URL) -> Engine:
    if url.get_backend_name() == "sqlite":
        if url.database:
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _wal(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute("PRAGMA journal_mode=WAL")

        return engine
    return postgres_engine(url)  # the checkpointer's libpq URL, on psycopg 3


def lock_key(thread_id: str) -> int:
    """The thread's advisory-lock key: a signed 64-bit number from its id."""
    digest = hashlib.sha256(f"wardround.thread:{thread_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class ThreadStore:
    """thread id → patient and owner; ``writer`` serializes turns on a thread (see the module)."""

    def __init__(self, url: URL | str) -> None:
        self._engine = _engine(make_url(url))
        self.shared = self._engine.dialect.name == "postgresql"
        """Whether replicas share this table (and the writer lock spans them)."""
        THREADS.metadata.create_all(self._engine)
        self._local: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    @classmethod
    def from_settings(cls, settings: Settings) -> ThreadStore:
        return cls(threads_url(settings))

    async def create(self, patient_id: str, owner_id: str) -> ThreadRow:
        row = ThreadRow(
            id=f"thread-{uuid.uuid4().hex[:16]}",
            patient_id=patient_id,
            owner_id=owner_id,
            created_at=datetime.now(UTC).isoformat(timespec="microseconds"),
        )
        await asyncio.to_thread(self._insert, row)
        return row

    def _insert(self, row: ThreadRow) -> None:
        with self._engine.begin() as conn:
            conn.execute(THREADS.insert().values(**row.__dict__))

    async def for_patient(self, patient_id: str, limit: int = 20) -> list[ThreadRow]:
        """The patient's threads, newest first (a ward team shares them)."""

        def read() -> list[ThreadRow]:
            query = (
                select(THREADS)
                .where(THREADS.c.patient_id == patient_id)
                .order_by(THREADS.c.created_at.desc())
                .limit(limit)
            )
            with self._engine.connect() as conn:
                return [ThreadRow(**row._mapping) for row in conn.execute(query)]

        return await asyncio.to_thread(read)

    async def ids(self) -> list[str]:
        """Every thread's id, newest first (the start-up sweep of unfinished decisions)."""

        def read() -> list[str]:
            query = select(THREADS.c.id).order_by(THREADS.c.created_at.desc())
            with self._engine.connect() as conn:
                return [str(tid) for tid in conn.execute(query).scalars()]

        return await asyncio.to_thread(read)

    async def get(self, thread_id: str) -> ThreadRow | None:
        return await asyncio.to_thread(self._get, thread_id)

    def _get(self, thread_id: str) -> ThreadRow | None:
        with self._engine.connect() as conn:
            found = conn.execute(select(THREADS).where(THREADS.c.id == thread_id)).first()
        return ThreadRow(*found) if found else None

    async def ping(self) -> None:
        await asyncio.to_thread(self._ping)

    def _ping(self) -> None:
        with self._engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    @asynccontextmanager
    async def writer(self, thread_id: str) -> AsyncIterator[None]:
        """Hold the thread for one turn: this process's lock, and on PostgreSQL the thread's
        advisory lock, waited for (polling) while another replica's turn holds it."""
        lock = self._local.get(thread_id)
        if lock is None:
            lock = self._local[thread_id] = asyncio.Lock()
        async with lock:
            if not self.shared:
                yield
                return
            key = lock_key(thread_id)
            conn = await asyncio.to_thread(self._engine.connect)
            try:
                # the holder may be another replica: no in-process event to wait on, so poll
                while not await asyncio.to_thread(self._try_lock, conn, key):  # noqa: ASYNC110
                    await asyncio.sleep(LOCK_POLL_S)
                yield
            finally:
                # unlock_all, not unlock(key): a lock the worker thread took just as this task was
                # cancelled is released too (the connection is this turn's alone)
                await asyncio.shield(asyncio.to_thread(self._release, conn))

    @staticmethod
    def _try_lock(conn: Any, key: int) -> bool:
        taken = conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar()
        conn.commit()
        return bool(taken)

    @staticmethod
    def _release(conn: Any) -> None:
        try:
            conn.execute(text("SELECT pg_advisory_unlock_all()"))
            conn.commit()
        finally:
            conn.close()

    def close(self) -> None:
        self._engine.dispose()
