"""``wardround labs --patient ID [--json]``: a patient's flagged results and lab findings.

``ID`` is a patient id in ``WARDROUND_PATIENTS_DIR`` (default ``data/patients``) or a path to a
bundle file. Output: a table of abnormal results (all results with ``--all``) and the findings;
``--json`` prints ``{"patient", "flags", "findings"}``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from core.errors import WardroundError
from core.settings import Settings
from tools.fhir.record_tools import record_findings
from tools.fhir.sources import load_patient
from tools.labs.findings import lab_findings
from tools.labs.flags import LabFlag, lab_flags

_STYLE = {"LL": "bold red", "HH": "bold red", "L": "yellow", "H": "yellow", "N": ""}


def register(app: typer.Typer) -> None:
    """Mount the ``labs`` command on the main CLI."""
    app.command("labs", help="Flag a patient's lab results and show lab findings.")(labs)


def labs(
    patient: Annotated[str, typer.Option("--patient", "-p", help="patient id or bundle path")],
    json_out: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    show_all: Annotated[bool, typer.Option("--all", help="include normal results")] = False,
) -> None:
    """Flag PATIENT's results against reference ranges; list trends and findings."""
    err = Console(stderr=True)
    try:
        settings = Settings()
        record = asyncio.run(
            load_patient(patient, settings.patients_dir, max_observations=settings.max_observations)
        )
    except WardroundError as exc:
        err.print(f"[red]{exc.title}:[/red] {exc}")
        raise typer.Exit(code=2) from exc
    flags = lab_flags(record, abnormal_only=not show_all)
    findings = [*lab_findings(record), *record_findings(record)]
    if json_out:
        doc = {
            "patient": record.patient.id,
            "flags": [f.model_dump(mode="json") for f in flags],
            "findings": [f.model_dump(mode="json") for f in findings],
        }
        typer.echo(json.dumps(doc, ensure_ascii=False, indent=2))
        return
    out = Console()
    out.print(f"[bold]{record.patient.id}[/bold]  ward {record.patient.ward or '-'}")
    out.print(_flag_table(flags))
    for f in findings:
        out.print(escape(f"[{f.severity.value}] {f.kind}: {f.summary}"), highlight=False)


def _flag_table(flags: list[LabFlag]) -> Table:
    table = Table("time", "test", "value", "unit", "flag", "reference", "ref")
    for f in flags:
        when = f"{f.effective:%Y-%m-%d %H:%M}" if f.effective else "-"
        value = "-" if f.value is None else f"{f.value:g}"
        reference = _reference(f)
        style = _STYLE.get(f.flag, "magenta")
        flag = f"[{style}]{f.flag}[/]" if style else f.flag
        table.add_row(when, escape(f.name), value, escape(f.unit), flag, escape(reference), f.ref)
    return table


def _reference(f: LabFlag) -> str:
    if f.low is not None and f.high is not None:
        return f"{f.low:g}-{f.high:g}"
    if f.low is not None:
        return f">{f.low:g}"
    if f.high is not None:
        return f"<{f.high:g}"
    return f.detail[:40]
