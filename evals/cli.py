"""``wardround evals``: record, replay, run and diff eval suites.

``--model-url`` takes any OpenAI-compatible base URL (``http://127.0.0.1:8765/v1`` for the
embedded SmolLM2 server, a vLLM endpoint...), or ``scripted`` for the in-process deterministic
stand-in (``evals.scripted``), which needs no server at all.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from core.errors import WardroundError
from core.model.client import ModelClient
from core.settings import Settings
from evals.cases import Case, find_case, load_suite
from evals.scrub import PhiMode

app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False)
out = Console()
err = Console(stderr=True)

ModelUrl = Annotated[
    str, typer.Option("--model-url", help="OpenAI-compatible base URL, or 'scripted'.")
]
ModelName = Annotated[
    str | None, typer.Option("--model", help="Model name (default: WARDROUND_MODEL_NAME).")
]
OutDir = Annotated[Path, typer.Option("--out", help="Directory to write into.")]
Phi = Annotated[
    str, typer.Option("--phi", help="'keep' bodies as sent, or 'redact' names and MRNs.")
]
UseKg = Annotated[
    bool,
    typer.Option(
        "--kg/--no-kg",
        help="Use the configured knowledge graph (WARDROUND_DATA_DIR; load it first with "
        "'wardround kg load'). Its answers are recorded: replay needs no KG.",
    ),
]


def _fail(error: WardroundError) -> typer.Exit:
    err.print(f"[bold red]error:[/] {error.title}: {error}")
    return typer.Exit(code=2)


def _phi(value: str) -> PhiMode:
    if value == "keep":
        return "keep"
    if value == "redact":
        return "redact"
    raise typer.BadParameter("--phi must be 'keep' or 'redact'")


@asynccontextmanager
async def _runtime(
    url: str, name: str | None, use_kg: bool
) -> AsyncIterator[tuple[Any, Any, ModelClient]]:
    from evals.runner import open_model
    from server.wiring import build_deps

    settings = Settings()
    async with (
        AsyncExitStack() as stack,
        open_model(url, name or settings.model_name, settings) as model,
    ):
        deps = build_deps(settings, use_model=False, use_kg=use_kg, closing=stack)
        yield deps.patients, deps.graph_store, model


def _cases(case: str | None, suite: str | None) -> list[Case]:
    if (case is None) == (suite is None):
        raise typer.BadParameter("give exactly one of --case or --suite")
    if case is not None:
        return [find_case(case)]
    return list(load_suite(str(suite)).cases)


@app.command("record")
def record(
    *,
    model_url: ModelUrl,
    out_dir: OutDir,
    case: Annotated[str | None, typer.Option("--case", help="One case id.")] = None,
    suite: Annotated[str | None, typer.Option("--suite", help="A suite name.")] = None,
    model: ModelName = None,
    phi: Phi = "keep",
    kg: UseKg = False,
) -> None:
    """Run cases against a model and write one transcript per case (<out>/<case>.jsonl)."""
    from evals.record import RoundSpec, record_round

    mode = _phi(phi)

    async def go() -> list[Path]:
        written = []
        async with _runtime(model_url, model, kg) as (patients, store, client):
            for c in _cases(case, suite):
                spec = RoundSpec(patient_id=c.patient, question=c.question, case_id=c.id)
                recording = await record_round(
                    spec, model=client, patients=patients, graph_store=store, phi=mode
                )
                written.append(recording.write(out_dir / f"{c.id}.jsonl"))
                out.print(f"recorded {c.id}: {len(recording.calls)} model calls")
        return written

    try:
        paths = asyncio.run(go())
    except WardroundError as error:
        raise _fail(error) from error
    out.print(f"{len(paths)} transcript(s) in {out_dir}")


def _transcripts(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for p in paths:
        found += sorted(p.rglob("*.jsonl")) if p.is_dir() else [p]
    return found


@app.command("replay")
def replay_cmd(
    files: Annotated[list[Path], typer.Argument(exists=True, help="Transcripts or directories.")],
) -> None:
    """Re-run recorded rounds against their transcripts; exit 1 on any difference."""
    from evals.replay import ReplayMismatch, replay

    failed = 0
    for path in _transcripts(files):
        try:
            outcome = asyncio.run(replay(path))
        except ReplayMismatch as mismatch:
            failed += 1
            err.print(f"[bold red]MISMATCH[/] {mismatch}")
            continue
        except WardroundError as error:
            raise _fail(error) from error
        if outcome.ok:
            note = " (graph topology changed)" if outcome.topology_changed else ""
            out.print(f"[green]identical[/] {path}{note}")
            continue
        failed += 1
        err.print(f"[bold red]DIFFERENT[/] {path}: {outcome.unused_calls} recorded call(s) unused")
        typer.echo(outcome.diff, err=True)
    if failed:
        raise typer.Exit(code=1)


@asynccontextmanager
async def _model_pool(
    urls: list[str], name: str | None, slots: int, settings: Settings
) -> AsyncIterator[list[ModelClient]]:
    """``slots`` clients, one per concurrent round, spread over ``urls`` in turn."""
    from evals.runner import open_model

    async with AsyncExitStack() as stack:
        yield [
            await stack.enter_async_context(
                open_model(urls[n % len(urls)], name or settings.model_name, settings)
            )
            for n in range(slots)
        ]


@app.command("run")
def run(
    *,
    suite: Annotated[str, typer.Option("--suite", help="Suite name (evals/cases/<name>.yaml).")],
    model_urls: Annotated[
        list[str],
        typer.Option(
            "--model-url",
            help="OpenAI-compatible base URL, or 'scripted'. Repeat it to spread the cases over "
            "several servers (e.g. one single-threaded llama.cpp server per core).",
        ),
    ],
    out_dir: OutDir,
    model: ModelName = None,
    phi: Phi = "keep",
    kg: UseKg = False,
    parallel: Annotated[
        int,
        typer.Option(
            "--parallel",
            min=0,
            help="Cases run at once (0: one per --model-url).",
            show_default=True,
        ),
    ] = 0,
    round_deadline: Annotated[
        float,
        typer.Option(
            "--round-deadline",
            min=0,
            help="Seconds a round may take before it degrades (0: 1800). A round cut by it "
            "does not replay.",
        ),
    ] = 0.0,
    verify_replay: Annotated[
        bool,
        typer.Option("--verify-replay/--no-verify-replay", help="Replay each case right away."),
    ] = True,
) -> None:
    """Run a suite: transcripts, results.json (rewritten as each case ends), report.md,
    report.html and the PNG charts under --out."""
    from evals.publish import write_reports
    from evals.runner import run_suite
    from server.wiring import build_deps

    mode = _phi(phi)
    settings = Settings()

    async def go() -> dict[str, Any]:
        slots = parallel or len(model_urls)
        async with (
            AsyncExitStack() as stack,
            _model_pool(model_urls, model, slots, settings) as clients,
        ):
            deps = build_deps(settings, use_model=False, use_kg=kg, closing=stack)
            return await run_suite(
                load_suite(suite), model=clients, patients=deps.patients,
                out=out_dir, phi=mode, graph_store=deps.graph_store,
                verify_replay=verify_replay, round_deadline_s=round_deadline,
                progress=lambda line: err.print(line, highlight=False),
            )  # fmt: skip

    try:
        results = asyncio.run(go())
    except WardroundError as error:
        raise _fail(error) from error
    write_reports(results, out_dir)
    typer.echo((out_dir / "report.md").read_text(encoding="utf-8"))
    out.print(f"wrote results.json, report.md, report.html and charts in {out_dir}")


def _copy_transcripts(run_dir: Path, target: Path) -> None:
    source = run_dir / "transcripts"
    if source.is_dir() and source.resolve() != (target / "transcripts").resolve():
        shutil.copytree(source, target / "transcripts", dirs_exist_ok=True)


@app.command("report")
def report_cmd(
    runs: Annotated[
        list[Path], typer.Argument(exists=True, help="Run directories or results.json files.")
    ],
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Where to write (default: the one run's directory)."),
    ] = None,
    rescore_: Annotated[
        bool,
        typer.Option(
            "--rescore",
            help="Score every case again from its transcript with today's cases and metric "
            "definitions (results.json is rewritten).",
        ),
    ] = False,
) -> None:
    """Rewrite report.md, report.html and the charts from results.json. Several runs of parts
    of one suite (e.g. on several machines) are merged into one results.json under --out."""
    from evals.publish import write_reports
    from evals.rescore import rescore
    from evals.runner import load_results, merge_results, summarize, write_json

    if len(runs) > 1 and out_dir is None:
        raise typer.BadParameter("give --out to merge several runs")
    target = out_dir or (runs[0] if runs[0].is_dir() else runs[0].parent)
    try:
        loaded = [load_results(r) for r in runs]
        if rescore_:
            loaded = [
                rescore(x, r if r.is_dir() else r.parent) for x, r in zip(loaded, runs, strict=True)
            ]
        results = merge_results(loaded) if len(loaded) > 1 else summarize(loaded[0])
    except WardroundError as error:
        raise _fail(error) from error
    if len(runs) > 1 or out_dir is not None or rescore_:
        write_json(target / "results.json", results)
        for run in runs:
            _copy_transcripts(run if run.is_dir() else run.parent, target)
    write_reports(results, target)
    out.print(f"wrote report.md, report.html and charts in {target}")


@app.command("diff")
def diff(
    run_a: Annotated[Path, typer.Argument(exists=True, help="Run directory or results.json.")],
    run_b: Annotated[Path, typer.Argument(exists=True, help="Run directory or results.json.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the two summaries.")] = False,
) -> None:
    """Metric deltas (B - A) and the cases whose answers or findings changed."""
    from evals.report import diff_markdown
    from evals.runner import load_results

    a, b = load_results(run_a), load_results(run_b)
    if as_json:
        out.print_json(json.dumps({"a": a["summary"], "b": b["summary"]}))
        return
    typer.echo(diff_markdown(a, b))
