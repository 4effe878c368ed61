"""Checkpointer factory: SQLite (embedded default, WAL) or Postgres, by configuration."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiosqlite
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from core.errors import ConfigurationError
from core.settings import Settings


@asynccontextmanager
async def open_checkpointer(settings: Settings) -> AsyncIterator[BaseCheckpointSaver[Any]]:
    """Open the configured checkpointer for the life of the block."""
    if settings.checkpoint_dsn:
        try:
            from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
        except ImportError as err:
            raise ConfigurationError(
                "WARDROUND_CHECKPOINT_DSN is set but langgraph-checkpoint-postgres is not "
                "installed: pip install 'wardround[postgres]'"
            ) from err
        async with AsyncPostgresSaver.from_conn_string(settings.checkpoint_dsn) as saver:
            await saver.setup()
            yield saver
        return
    settings.ensure_data_dir()
    conn = await aiosqlite.connect(settings.checkpoint_path)
    try:
        await conn.execute("PRAGMA journal_mode=WAL")  # readers never block the one writer
        sqlite_saver = AsyncSqliteSaver(conn)
        await sqlite_saver.setup()
        yield sqlite_saver
    finally:
        await conn.close()
