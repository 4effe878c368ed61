"""What every SQLAlchemy-backed store here shares about PostgreSQL (the audit store, the thread
table): a libpq URL (``postgresql://...``, as the LangGraph checkpointer takes it) runs on the
psycopg 3 driver, and pooled connections are checked before use."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import URL


def postgres_engine(url: URL) -> Engine:
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return create_engine(url, pool_pre_ping=True)
