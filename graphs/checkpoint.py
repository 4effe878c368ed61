"""Checkpointer factory: SQLite (embedded default, WAL) or Postgres, by configuration; and the
checkpoint history each thread keeps.

A round writes a checkpoint per step at the root and in each specialist's subgraph, each holding
the state as it then was (the parsed record included): ~1.2 MB for one question on the demo
patient, growing with every question. What a thread needs to go on (a follow-up, an approval, a
resume after a crash) is its latest root checkpoint and that checkpoint's pending writes (the
interrupt waiting for a decision). So by default (``WARDROUND_CHECKPOINT_HISTORY=latest``) each
finished turn prunes its thread to that: LangGraph's own ``keep_latest`` strategy (upstream's
Postgres saver implements it; for SQLite it is implemented here with the same rules: the latest
checkpoint per namespace, plus its parent while that parent holds the pending sends the latest
relies on; a subgraph call's namespace goes whole once the root has moved past the step it was
called from). ``all`` keeps every step (time travel while debugging). A turn cut short (crash,
cancel) is never pruned: its steps are what a resume starts from. The audit store, not the
checkpoints, is the record of what happened.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import aiosqlite
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from agents.approval_memory import Settled
from agents.approvals import Proposal, RecordedDecision
from agents.cards import Card
from core.errors import ConfigurationError
from core.settings import Settings

_TASKS = "__pregel_tasks"

STATE_TYPES: tuple[type, ...] = (Proposal, RecordedDecision, Settled, Card)
"""The models the ward round's state holds as themselves (``graphs.state``): LangGraph's
serializer writes them with their class and, by default, loads an unlisted class with a warning
("Deserializing unregistered type", to be blocked in a later version). Listed, they load
quietly; any other class in a checkpoint is refused (handed back as its dict)."""


def serde() -> JsonPlusSerializer:
    """The checkpoint serializer: LangGraph's, loading exactly the state's own models (and its
    built-in safe types)."""
    return JsonPlusSerializer(
        allowed_msgpack_modules=[(t.__module__, t.__name__) for t in STATE_TYPES]
    )


class KeepsLatest:
    """Marks a saver whose threads are pruned to their latest checkpoint after each turn; the
    pruning is the saver's own LangGraph ``aprune``."""


class PrunedSqliteSaver(AsyncSqliteSaver, KeepsLatest):
    """``AsyncSqliteSaver`` with LangGraph's ``aprune`` (``keep_latest`` or ``delete``)."""

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        if strategy not in ("keep_latest", "delete"):
            raise ValueError(f"unknown prune strategy {strategy!r}")
        async with self.lock:
            for thread_id in thread_ids:
                if strategy == "delete":
                    await self.conn.execute("DELETE FROM writes WHERE thread_id = ?", (thread_id,))
                    await self.conn.execute(
                        "DELETE FROM checkpoints WHERE thread_id = ?", (thread_id,)
                    )
                else:
                    await _keep_latest(self.conn, thread_id)
            await self.conn.commit()


async def _keep_latest(conn: aiosqlite.Connection, thread_id: str) -> None:
    heads = await _heads(conn, thread_id)
    root_head = heads.get("", {}).get("id")
    for ns, head in heads.items():
        if ":" in ns and head["root"] != root_head:  # a finished subgraph call: all of it goes
            await _delete(conn, thread_id, ns, keep=())
            continue
        keep = [head["id"]]
        if head["parent"] and await _holds_sends(conn, thread_id, ns, head["parent"]):
            keep.append(head["parent"])
        await _delete(conn, thread_id, ns, keep=keep)
        await conn.execute(  # the oldest kept one's parent is gone
            "UPDATE checkpoints SET parent_checkpoint_id = NULL "
            "WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?",
            (thread_id, ns, keep[-1]),
        )


async def _heads(conn: aiosqlite.Connection, thread_id: str) -> dict[str, dict[str, Any]]:
    """Per namespace: the latest checkpoint id, its parent, and the root step it belongs to."""
    rows = await conn.execute_fetchall(
        "SELECT c.checkpoint_ns, c.checkpoint_id, c.parent_checkpoint_id, c.metadata "
        "FROM checkpoints c WHERE c.thread_id = ? AND c.checkpoint_id = ("
        "  SELECT max(checkpoint_id) FROM checkpoints m"
        "  WHERE m.thread_id = c.thread_id AND m.checkpoint_ns = c.checkpoint_ns)",
        (thread_id,),
    )
    heads: dict[str, dict[str, Any]] = {}
    for ns, checkpoint_id, parent, metadata in rows:
        parents = (json.loads(metadata) if metadata else {}).get("parents") or {}
        heads[ns] = {"id": checkpoint_id, "parent": parent, "root": parents.get("")}
    return heads


async def _holds_sends(
    conn: aiosqlite.Connection, thread_id: str, ns: str, checkpoint_id: str
) -> bool:
    rows = await conn.execute_fetchall(
        "SELECT 1 FROM writes WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ? "
        "AND channel = ? LIMIT 1",
        (thread_id, ns, checkpoint_id, _TASKS),
    )
    return bool(list(rows))


async def _delete(
    conn: aiosqlite.Connection, thread_id: str, ns: str, *, keep: Sequence[str]
) -> None:
    # ``NOT IN (NULL)`` matches nothing in SQL: an empty ``keep`` drops the whole namespace
    unkept = f"AND checkpoint_id NOT IN ({','.join('?' * len(keep))})" if keep else ""
    for table in ("writes", "checkpoints"):  # fixed names; the values are bound
        await conn.execute(
            f"DELETE FROM {table} WHERE thread_id = ? AND checkpoint_ns = ? {unkept}",
            (thread_id, ns, *keep),
        )


async def prune_thread(checkpointer: object, thread_id: str) -> None:
    """After a finished turn: keep only what the thread needs to go on (see the module doc)."""
    if isinstance(checkpointer, BaseCheckpointSaver) and isinstance(checkpointer, KeepsLatest):
        await checkpointer.aprune([thread_id], strategy="keep_latest")


@asynccontextmanager
async def open_checkpointer(settings: Settings) -> AsyncIterator[BaseCheckpointSaver[Any]]:
    """Open the configured checkpointer for the life of the block."""
    keep_latest = settings.checkpoint_history == "latest"
    if settings.checkpoint_dsn:
        try:
            from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
        except ImportError as err:
            raise ConfigurationError(
                "WARDROUND_CHECKPOINT_DSN is set but langgraph-checkpoint-postgres is not "
                "installed: pip install 'wardround[postgres]'"
            ) from err

        class PrunedPostgresSaver(AsyncPostgresSaver, KeepsLatest):
            """Upstream's saver; its ``aprune`` implements ``keep_latest``."""

        saver_type = PrunedPostgresSaver if keep_latest else AsyncPostgresSaver
        async with saver_type.from_conn_string(settings.checkpoint_dsn, serde=serde()) as saver:
            await saver.setup()
            yield saver
        return
    settings.ensure_data_dir()
    conn = await aiosqlite.connect(settings.checkpoint_path)
    try:
        await conn.execute("PRAGMA journal_mode=WAL")  # readers never block the one writer
        saver_class = PrunedSqliteSaver if keep_latest else AsyncSqliteSaver
        sqlite_saver = saver_class(conn, serde=serde())
        await sqlite_saver.setup()
        yield sqlite_saver
    finally:
        await conn.close()
