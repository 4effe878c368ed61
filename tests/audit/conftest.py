"""Audit store fixtures: a SQLite file per test, and PostgreSQL (own schema) when it is there."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import closing
from pathlib import Path

import pytest

from core.audit import AuditStore, EventDraft, EventKind

KEY = b"k" * 32
PG_HOST = "127.0.0.1"


@pytest.fixture
def checkpoint_key_bytes() -> bytes:
    return KEY


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "audit.sqlite"


@pytest.fixture
def open_sqlite(db_path: Path) -> Iterator[Callable[..., AuditStore]]:
    """Open (another) store on the test's SQLite file; all are closed at teardown."""
    opened: list[AuditStore] = []

    def open_store(**options: object) -> AuditStore:
        options.setdefault("checkpoint_key", KEY)
        store = AuditStore.open(f"sqlite:///{db_path}", **options)
        opened.append(store)
        return store

    yield open_store
    for store in opened:
        store.close()


@pytest.fixture
def store(open_sqlite: Callable[..., AuditStore]) -> AuditStore:
    return open_sqlite()


def _postgres_url(schema: str) -> str | None:
    try:
        import psycopg
    except ImportError:
        return None
    try:
        with psycopg.connect(
            host=PG_HOST, user="postgres", dbname="test", connect_timeout=2, autocommit=True
        ) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
    except psycopg.Error:
        return None
    return f"postgresql+psycopg://postgres@{PG_HOST}/test?options=-csearch_path%3D{schema}"


def _drop_schema(schema: str) -> None:
    import psycopg

    with psycopg.connect(host=PG_HOST, user="postgres", dbname="test", autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_store(request: pytest.FixtureRequest, db_path: Path) -> Iterator[AuditStore]:
    """The store on each backend: SQLite always, PostgreSQL when a server and psycopg are here."""
    if request.param == "sqlite":
        store = AuditStore.open(f"sqlite:///{db_path}", checkpoint_key=KEY)
        yield store
        store.close()
        return
    schema = f"audit_{uuid.uuid4().hex[:12]}"
    url = _postgres_url(schema)
    if url is None:
        pytest.skip("PostgreSQL at 127.0.0.1:5432 or the psycopg driver is not available")
    store = AuditStore.open(url, checkpoint_key=KEY)
    try:
        yield store
    finally:
        store.close()
        _drop_schema(schema)


@pytest.fixture
def raw_sql(db_path: Path) -> Callable[..., list[tuple[object, ...]]]:
    """Run SQL straight on the database file, as an attacker with file access would."""

    def run(*statements: str, drop_triggers: bool = True) -> list[tuple[object, ...]]:
        with closing(sqlite3.connect(db_path)) as conn:
            if drop_triggers:
                names = conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'")
                for (name,) in names.fetchall():
                    conn.execute(f"DROP TRIGGER {name}")
            rows: list[tuple[object, ...]] = []
            for statement in statements:
                rows = conn.execute(statement).fetchall()
            conn.commit()
            return rows

    return run


async def fill(store: AuditStore, n: int, *, run_id: str = "run-1") -> list[str]:
    """Append ``n`` events of one run; returns their event ids."""
    ids = []
    for i in range(n):
        draft = EventDraft(
            kind=EventKind.TOOL_CALL, run_id=run_id, patient_id="pat-1", payload={"i": i}
        )
        ids.append((await store.append(draft)).event_id)
    return ids


@pytest.fixture
def append_many() -> Callable[..., Awaitable[list[str]]]:
    return fill


@pytest.fixture
async def ten_events(store: AuditStore) -> list[str]:
    return await fill(store, 10)
