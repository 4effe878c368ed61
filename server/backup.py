"""Backup and restore of the embedded stores, and the checkpoint store's upkeep.

A backup is a folder: each SQLite store (checkpoints, threads, audit) copied with SQLite's online
backup API (a consistent copy while the server runs; its WAL included), the embedded knowledge
graph's files, the other files of the data dir (tokens, outbox, the audit signing key), and a
``manifest.json`` naming every file with its size and SHA-256 and the audit chain's head at
backup time. Restore checks every file against the manifest first, writes only into an empty or
new data dir (it never overwrites data), and then verifies the audit chain where it landed.

Stores configured on PostgreSQL (``WARDROUND_CHECKPOINT_DSN``, ``WARDROUND_AUDIT_DSN``) are
backed up with PostgreSQL's own tools (``pg_dump``); a backup says which stores it left out.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.errors import InvalidInput
from core.settings import Settings

MANIFEST = "manifest.json"
FORMAT = 1
_SKIPPED_SUFFIXES = ("-wal", "-shm", ".lock")  # SQLite's side files (the backup API reads them)
_SKIPPED_NAMES = {"model.log"}


@dataclass
class BackupReport:
    folder: Path
    files: list[dict[str, Any]] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)

    @property
    def bytes(self) -> int:
        return sum(int(f["bytes"]) for f in self.files)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _is_sqlite(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(16) == b"SQLite format 3\x00"


def _copy_sqlite(source: Path, target: Path) -> None:
    with (
        closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src,
        closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)


def _sources(settings: Settings, *, with_kg: bool) -> list[Path]:
    root = settings.data_dir
    found = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.name in _SKIPPED_NAMES:
            continue
        if path.name.endswith(_SKIPPED_SUFFIXES):
            continue
        if not with_kg and path.is_relative_to(settings.kg_path.parent):
            continue
        found.append(path)
    return found


def backup(settings: Settings, folder: Path, *, with_kg: bool = True) -> BackupReport:
    """Copy the data dir's stores into ``folder`` (new or empty) with a manifest."""
    root = settings.data_dir
    if not root.is_dir():
        raise InvalidInput(f"data dir {root} does not exist: nothing to back up")
    _require_empty(folder, "backup folder")
    report = BackupReport(folder)
    if settings.checkpoint_dsn:
        report.left_out.append("checkpoints and threads (PostgreSQL: back them up with pg_dump)")
    if settings.audit_dsn:
        report.left_out.append("audit store (PostgreSQL: back it up with pg_dump)")
    if not with_kg:
        report.left_out.append("knowledge graph (--no-kg; 'wardround kg load' rebuilds it)")
    for source in _sources(settings, with_kg=with_kg):
        relative = source.relative_to(root)
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if _is_sqlite(source):
            _copy_sqlite(source, target)
        else:
            shutil.copy2(source, target)
        report.files.append(
            {"path": str(relative), "bytes": target.stat().st_size, "sha256": _sha256(target)}
        )
    manifest = {
        "format": FORMAT,
        "made_at": datetime.now(UTC).isoformat(),
        "data_dir": str(root),
        "files": report.files,
        "left_out": report.left_out,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return report


def restore(folder: Path, settings: Settings) -> list[dict[str, Any]]:
    """Check ``folder`` against its manifest, then copy it into the (new or empty) data dir."""
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise InvalidInput(f"{folder} is not a wardround backup: no {MANIFEST}")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT:
        raise InvalidInput(f"backup format {manifest.get('format')!r} is not {FORMAT}")
    files: list[dict[str, Any]] = manifest["files"]
    for entry in files:
        path = (folder / entry["path"]).resolve()
        if not path.is_relative_to(folder.resolve()):
            raise InvalidInput(f"backup names a file outside itself: {entry['path']!r}")
        if not path.is_file() or _sha256(path) != entry["sha256"]:
            raise InvalidInput(f"backup file {entry['path']} is missing or altered: not restored")
    _require_empty(settings.data_dir, "data dir")
    for entry in files:
        target = settings.data_dir / entry["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(folder / entry["path"], target)
    return files


def _require_empty(folder: Path, what: str) -> None:
    if folder.exists() and any(folder.iterdir()):
        raise InvalidInput(f"{what} {folder} is not empty: nothing is overwritten")
    folder.mkdir(parents=True, exist_ok=True)


async def vacuum(settings: Settings) -> tuple[int, int, int]:
    """Prune every thread to what it needs to go on, then give the space back (SQLite).

    Returns (threads, bytes before, bytes after) of the checkpoint store (0 on PostgreSQL,
    whose space is reclaimed by its own autovacuum)."""
    from graphs.checkpoint import KeepsLatest, PrunedSqliteSaver, open_checkpointer

    path = settings.checkpoint_path
    before = path.stat().st_size if path.exists() and not settings.checkpoint_dsn else 0
    keep_latest = settings.model_copy(update={"checkpoint_history": "latest"})
    async with open_checkpointer(keep_latest) as saver:
        assert isinstance(saver, KeepsLatest)
        threads = sorted({c.config["configurable"]["thread_id"] async for c in saver.alist(None)})
        await saver.aprune(threads, strategy="keep_latest")
        sqlite = isinstance(saver, PrunedSqliteSaver)
    if sqlite:  # on a connection of its own: VACUUM needs no statement in progress
        with closing(sqlite3.connect(path)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.execute("VACUUM")
    after = path.stat().st_size if before else 0
    return len(threads), before, after
