"""``wardround audit``: verify the chain, export FHIR, list runs, sign and archive.

Configuration comes from ``Settings()`` (``WARDROUND_AUDIT_DSN`` or the data dir's SQLite file).
The checkpoint key is ``WARDROUND_AUDIT_KEY`` (``Settings.audit_key``), else the one the server
keeps in the data dir; without either, every command warns what an unsigned chain cannot show.
Exit codes: 0 ok, 1 the chain failed verification, 2 an error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from core.audit.archive import verify_segment
from core.audit.fhir_export import export_bundle
from core.audit.runs import RunOutcome
from core.audit.signing import UNSIGNED_WARNING, checkpoint_key, kept_key
from core.audit.store import AuditStore
from core.audit.verify import VerifyReport
from core.errors import WardroundError
from core.settings import Settings

app = typer.Typer(
    name="audit", help="The audit trail: verify, export, runs, checkpoint.", no_args_is_help=True
)
out = Console()
err = Console(stderr=True)
T = TypeVar("T")


@contextmanager
def _store() -> Iterator[AuditStore]:
    settings = Settings()
    try:
        key = checkpoint_key(settings.audit_key) or kept_key(settings.data_dir, create=False)
        if key is None:
            err.print(f"[yellow]warning:[/yellow] {UNSIGNED_WARNING}")
        store = AuditStore.from_settings(settings, checkpoint_key=key)
    except WardroundError as exc:
        _fail(exc)
    try:
        yield store
    finally:
        store.close()


def _fail(exc: WardroundError) -> NoReturn:
    err.print(f"[red]{exc.title}:[/red] {exc}")
    raise typer.Exit(2) from exc


def _run(work: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(work)
    except WardroundError as exc:
        _fail(exc)


def _report(report: VerifyReport) -> None:
    if report.ok:
        out.print(f"[green]OK[/green] {report.describe()}")
        return
    err.print(f"[red]FAILED[/red] {report.describe()}")
    raise typer.Exit(1)


def _utc(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


@app.command()
def verify(
    archives: Annotated[bool, typer.Option(help="also check the archived segment files")] = False,
) -> None:
    """Walk the chain, checkpoints and archive markers; name the first bad event."""
    with _store() as store:
        _report(_run(store.verify(check_archive_files=archives)))


@app.command("verify-segment")
def verify_segment_file(path: Annotated[Path, typer.Argument(exists=True)]) -> None:
    """Verify an archived segment file on its own."""
    try:
        report = verify_segment(path)
    except WardroundError as exc:
        _fail(exc)
    _report(report)


@app.command()
def export(
    out_file: Annotated[Path, typer.Option("--out", help="where to write the Bundle JSON")],
    run: Annotated[str | None, typer.Option(help="one run id")] = None,
    patient: Annotated[str | None, typer.Option(help="all runs about one patient")] = None,
) -> None:
    """Write FHIR R4 AuditEvent/Provenance resources as a Bundle (collection)."""
    if (run is None) == (patient is None):
        raise typer.BadParameter("give exactly one of --run or --patient")
    with _store() as store:
        bundle = _run(export_bundle(store, run_id=run, patient_id=patient))
    out_file.write_text(bundle.model_dump_json(indent=2) + "\n", encoding="utf-8")
    out.print(f"wrote {len(bundle.entry or [])} resources to {out_file}")


@app.command()
def runs(  # keyword-only: typer reads them as options
    *,
    patient: Annotated[str | None, typer.Option(help="patient id")] = None,
    principal: Annotated[str | None, typer.Option(help="who asked")] = None,
    since: Annotated[datetime | None, typer.Option(help="started at or after (UTC)")] = None,
    until: Annotated[datetime | None, typer.Option(help="started before (UTC)")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 20,
    cursor: Annotated[str | None, typer.Option(help="next page, as printed")] = None,
    outcome: Annotated[
        RunOutcome | None, typer.Option(help="only runs that ended this way")
    ] = None,
) -> None:
    """List runs, newest first, with how each ended (answered, paused for approval, failed,
    unfinished)."""
    with _store() as store:
        page = _run(
            store.runs(
                patient=patient,
                principal=principal,
                since=_utc(since),
                until=_utc(until),
                outcome=outcome,
                limit=limit,
                cursor=cursor,
            )
        )
    table = Table("run", "started (UTC)", "principal", "patient", "outcome", "events", "errors")
    for r in page.runs:
        started = r.started_at.strftime("%Y-%m-%d %H:%M:%S")
        table.add_row(
            r.run_id,
            started,
            r.principal_id or "",
            r.patient_id or "",
            r.outcome,
            str(r.events),
            str(r.errors),
        )
    out.print(table)
    if page.next_cursor:
        out.print(f"more: --cursor {page.next_cursor}")


@app.command()
def checkpoint() -> None:
    """Sign the current chain head (HMAC-SHA256 with WARDROUND_AUDIT_KEY)."""
    with _store() as store:
        signed = _run(store.checkpoint())
    out.print(f"checkpoint at seq {signed.seq}, head {signed.head_hash}")


@app.command()
def archive(
    before: Annotated[int, typer.Option(help="archive events with seq below this")],
    out_file: Annotated[Path, typer.Option("--out", help="segment file (JSON lines)")],
) -> None:
    """Move a closed chain segment to a JSONL file that verifies on its own."""
    with _store() as store:
        marker = _run(store.archive(before, out_file))
    out.print(
        f"archived seq {marker.from_seq}..{marker.through_seq} to {out_file}"
        f" (sha256 {marker.file_sha256})"
    )
