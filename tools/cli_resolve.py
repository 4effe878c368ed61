"""``wardround kg resolve``: how each drug is read, as a table a pharmacist can check.

``wardround kg resolve "Warfarin Sodium 5 MG Oral Tablet" "atc:C09BB05"`` reads names (or
``rxnorm:``/``atc:``/``snomed:`` codes) as a prescription would name them; ``--patient ID`` (an
id in ``WARDROUND_PATIENTS_DIR`` or a bundle path) reads every medication the patient is on now.
Each row: the text, how it was resolved (code, parsed name, brand, fuzzy), the record's codes,
the KG ingredient(s) and the confidence; what did not resolve says why. ``--json`` prints rows.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from core.domain import Coding, Medication
from core.errors import WardroundError
from core.settings import Settings
from kg.store import open_store
from tools.fhir.codes import RXNORM, SNOMED
from tools.fhir.medications import ATC
from tools.fhir.sources import load_patient
from tools.resolve.medications import MedicationResolution, resolve_medications, resolve_record

_SYSTEMS = {"rxnorm": RXNORM, "atc": ATC, "snomed": SNOMED}


def register(app: typer.Typer) -> None:
    """Mount ``resolve`` on the ``kg`` command group of the main CLI."""
    for group in app.registered_groups:
        if group.name == "kg" and group.typer_instance is not None:
            group.typer_instance.command("resolve")(resolve)


def _as_medication(i: int, text: str) -> Medication:
    prefix, _, code = text.partition(":")
    system = _SYSTEMS.get(prefix.strip().lower())
    if system and code.strip():
        coding = Coding(system=system, code=code.strip())
        return Medication(ref=f"input/{i}", name="", codings=(coding,))
    return Medication(ref=f"input/{i}", name=text)


def _table(rows: list[MedicationResolution]) -> Table:
    table = Table("medication", "how resolved", "record codes", "KG ingredient(s)", "confidence")
    for row in rows:
        if not row.resolved:
            table.add_row(escape(row.text), f"[red]unresolved[/red]: {escape(row.why)}",
                          escape(", ".join(row.codes)), "", "")  # fmt: skip
            continue
        how = "; ".join(dict.fromkeys(f"{i.how}: {i.via}" for i in row.ingredients))
        if row.unresolved:
            how += f"; not read: {', '.join(row.unresolved)}"
        style = "yellow" if any(i.fuzzy for i in row.ingredients) else ""
        table.add_row(
            escape(row.text), escape(how), escape(", ".join(row.codes)),
            ", ".join(i.name for i in row.ingredients), f"[{style}]{row.confidence:.2f}[/]"
            if style else f"{row.confidence:.2f}",
        )  # fmt: skip
    return table


def resolve(
    names: Annotated[list[str] | None, typer.Argument(help="drug names or system:code")] = None,
    patient: Annotated[str | None, typer.Option("--patient", "-p", help="id or bundle")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Show how each drug resolves to knowledge-graph ingredients, and how sure that is."""
    err = Console(stderr=True)
    settings = Settings()
    try:
        store = open_store(settings)
        try:
            if patient:
                record = asyncio.run(
                    load_patient(
                        patient, settings.patients_dir, max_observations=settings.max_observations
                    )
                )
                rows = resolve_record(store, record)
            else:
                meds = [_as_medication(i, text) for i, text in enumerate(names or [])]
                rows = resolve_medications(store, meds)
        finally:
            store.close()
    except WardroundError as exc:
        err.print(f"[red]{exc.title}:[/red] {exc}")
        raise typer.Exit(1) from exc
    if json_out:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in rows], ensure_ascii=False))
        return
    Console(width=160).print(_table(rows))
