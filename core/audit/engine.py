"""SQLAlchemy engines for the audit store: SQLite (default, WAL) or PostgreSQL (by DSN).

SQLite: Python's ``sqlite3`` is put out of the transaction business (``isolation_level=None``) and
SQLAlchemy's ``begin`` event emits the BEGIN itself, as the SQLAlchemy SQLite documentation
recommends ("Enabling Non-Legacy SQLite Transactional Modes"). Connections tagged with the
``audit_writer`` execution option begin with ``BEGIN IMMEDIATE``: the write lock is taken before the
chain head is read, so two writers (threads or processes) can never both extend the same head.
Readers begin a plain deferred ``BEGIN`` and, with WAL, never block the writer.

PostgreSQL: writers take a transaction-scoped advisory lock (``writer_lock``) before reading the
head; readers need nothing. ``postgresql://`` URLs are mapped to the psycopg 3 driver.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url

from core.database import postgres_engine
from core.errors import ConfigurationError
from core.settings import Settings

WRITER = {"audit_writer": True}
"""Execution options of the writer engine (see ``writer_engine``)."""

SQLITE_BUSY_TIMEOUT_S = 30.0
_PG_LOCK_KEY = 0x77617264_61756474  # "wardaudt": one advisory lock for the whole chain


def audit_url(settings: Settings) -> str:
    """The configured audit DSN, or the embedded SQLite file under the data dir."""
    if settings.audit_dsn:
        return settings.audit_dsn
    settings.ensure_data_dir()
    return f"sqlite:///{settings.audit_path.resolve()}"


def create_audit_engine(url: str | URL) -> Engine:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed)
    if backend == "postgresql":
        return postgres_engine(parsed)
    raise ConfigurationError(f"audit store: unsupported database {backend!r} (sqlite, postgresql)")


def writer_engine(engine: Engine) -> Engine:
    """The same pool, tagged so that SQLite transactions begin IMMEDIATE."""
    return engine.execution_options(**WRITER)


def writer_lock(conn: Connection) -> None:
    """Serialise chain writers across processes (SQLite already holds its write lock)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})


def _sqlite_engine(url: URL) -> Engine:
    database = url.database or ""
    if database in ("", ":memory:") or "mode=memory" in str(url):
        raise ConfigurationError("the audit store needs a SQLite file, not an in-memory database")
    Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see module docstring)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: a committed audit event survives power loss, at some cost per append.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("audit_writer", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine
