"""``wardround backup``, ``wardround restore`` and ``wardround db vacuum``."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from core.errors import WardroundError
from core.settings import Settings
from server import backup as stores

out = Console()
db_app = typer.Typer(help="The checkpoint store's upkeep.", no_args_is_help=True)


def _fail(error: WardroundError) -> typer.Exit:
    Console(stderr=True).print(f"[red]error:[/red] {error}")
    return typer.Exit(2)


def backup(
    folder: Annotated[Path, typer.Argument(help="a new or empty folder to write the backup in")],
    kg: Annotated[
        bool, typer.Option("--kg/--no-kg", help="include the embedded knowledge graph")
    ] = True,
) -> None:
    """Copy the checkpoint, thread, audit and KG stores (and tokens, outbox, audit key) of the
    data dir into FOLDER, consistently while the server runs, with a checksummed manifest."""
    try:
        report = stores.backup(Settings(), folder, with_kg=kg)
    except WardroundError as error:
        raise _fail(error) from error
    out.print(f"backed up {len(report.files)} files ({report.bytes:,} bytes) to {folder}")
    for what in report.left_out:
        out.print(f"  not in this backup: {what}")


def restore(
    folder: Annotated[Path, typer.Argument(help="a folder written by 'wardround backup'")],
) -> None:
    """Check FOLDER against its manifest, restore it into the data dir (which must be new or
    empty: nothing is overwritten), then verify the audit chain there."""
    settings = Settings()
    try:
        files = stores.restore(folder, settings)
    except WardroundError as error:
        raise _fail(error) from error
    out.print(f"restored {len(files)} files into {settings.data_dir}")
    if settings.audit_path.exists():
        from core.audit import AuditStore
        from core.audit.signing import checkpoint_key

        key = checkpoint_key(settings.audit_key)
        store = AuditStore.from_settings(settings, checkpoint_key=key)
        try:
            report = asyncio.run(store.verify())
        finally:
            store.close()
        out.print(f"audit chain: {report.describe()}")
        if not report.ok:
            raise typer.Exit(1)


@db_app.command()
def vacuum() -> None:
    """Prune every thread's checkpoints to what it needs to go on (the latest step and any
    approval it waits for) and give the space back to the file system."""
    threads, before, after = asyncio.run(stores.vacuum(Settings()))
    if before:
        out.print(f"{threads} threads; checkpoints {before:,} -> {after:,} bytes")
    else:
        out.print(f"{threads} threads pruned (PostgreSQL reclaims the space itself)")


def register(app: typer.Typer) -> None:
    app.command()(backup)
    app.command()(restore)
    app.add_typer(db_app, name="db")
