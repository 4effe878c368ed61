"""``wardround calc``: run a clinical calculator from the command line.

    wardround calc --list
    wardround calc egfr_ckd_epi_2021 --creatinine 106 --creatinine-unit umol/L --age 67 \
        --sex female [--json]
    wardround calc aki_stage --creatinine '[{"time": "2025-03-01T06:00Z", "value": 1.0}, ...]'

Parameters are ``--name value`` pairs (``-`` or ``_`` in names); values are read as JSON where they
parse (numbers, true/false, lists) and as text otherwise; a ``--flag`` with no value is true.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from core.errors import InvalidInput
from tools.calculators import CALCULATORS, CalcResult, Calculator, get_calculator

# --help is ours, not click's: 'wardround calc NAME --help' lists NAME's parameters.
_EXTRA_ARGS = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}


def register(app: typer.Typer) -> None:
    """Mount the ``calc`` command on the main CLI."""
    app.command("calc", context_settings=_EXTRA_ARGS, help="Run a clinical calculator.")(
        calc_command
    )


def calc_command(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="calculator name (see --list)")] = None,
    list_all: Annotated[bool, typer.Option("--list", help="list the calculators")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    show_help: Annotated[
        bool, typer.Option("--help", "-h", help="this help, or NAME's parameters")
    ] = False,
) -> None:
    """Run NAME with --param value pairs, or list the calculators."""
    out = Console()
    err = Console(stderr=True)
    if show_help:
        _print_help(ctx, out, name)
        return
    if list_all:
        _print_list(out, as_json=as_json)
        return
    if name is None:
        err.print("[red]give a calculator name[/red] (wardround calc --list shows them)")
        raise typer.Exit(code=2)
    try:
        calc = get_calculator(name)
    except InvalidInput as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(code=2) from exc
    try:
        result = calc.run(parse_params(list(ctx.args)))
    except InvalidInput as exc:
        err.print(f"[red]{exc}[/red]")
        _print_params(err, calc)
        raise typer.Exit(code=2) from exc
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
    else:
        _print_result(out, result)


def parse_params(args: list[str]) -> dict[str, object]:
    """``['--age', '67', '--on-oxygen', '--sex=female']`` -> ``{'age': 67, ...}``."""
    params: dict[str, object] = {}
    i = 0
    while i < len(args):
        token = args[i]
        if not token.startswith("--") or len(token) == 2:
            raise InvalidInput(f"expected --name value, got {token!r}")
        key, has_value, value = token[2:].partition("=")
        if not has_value:
            if i + 1 < len(args) and not args[i + 1].startswith("--"):
                value = args[i + 1]
                i += 1
            else:
                value = "true"
        params[key.replace("-", "_")] = _read_value(value)
        i += 1
    return params


def _read_value(text: str) -> object:
    try:
        value: object = json.loads(text)
    except ValueError:
        if text.lstrip().startswith(("[", "{")):
            raise InvalidInput(f"malformed JSON value: {text[:60]!r}") from None
        return text
    return value


def _print_list(out: Console, *, as_json: bool) -> None:
    if as_json:
        rows = [
            {"name": c.name, "description": c.description, "source": c.source.cite()}
            for c in CALCULATORS.values()
        ]
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    table = Table(title="wardround calculators")
    table.add_column("name", style="bold")
    table.add_column("description")
    table.add_column("source")
    for calc in CALCULATORS.values():
        table.add_row(calc.name, calc.description, f"{calc.source.authors} {calc.source.year}")
    out.print(table)


def _print_help(ctx: typer.Context, out: Console, name: str | None) -> None:
    if name is None:
        typer.echo(ctx.get_help())
        return
    try:
        calc = get_calculator(name)
    except InvalidInput as exc:
        Console(stderr=True).print(f"[red]{exc}[/red]")
        raise typer.Exit(code=2) from exc
    out.print(f"[bold]{calc.name}[/bold]: {calc.description}")
    out.print(f"source: {calc.source.cite()}", style="dim")
    _print_params(out, calc)


def _print_params(out: Console, calc: Calculator[Any]) -> None:
    table = Table(title=f"parameters of {calc.name}")
    for column in ("--parameter", "type", "required / default", "description"):
        table.add_column(column)
    for p in calc.parameters():
        flag = "--" + p.name.replace("_", "-")
        table.add_row(flag, p.type, "required" if p.required else p.default, p.description)
    out.print(table)


def _print_result(out: Console, result: CalcResult) -> None:
    out.print(
        f"[bold]{result.calculator}[/bold]: {result.value:g} {result.unit}  {result.category}"
    )
    if result.interpretation:
        out.print(result.interpretation)
    if result.components:
        parts = ", ".join(f"{k} {v:g}" for k, v in result.components.items())
        out.print(f"components: {parts}")
    for line in result.conversions:
        out.print(f"conversion: {line}")
    for line in result.warnings:
        out.print(f"[yellow]note:[/yellow] {line}")
    out.print(f"source: {result.source}", style="dim")
