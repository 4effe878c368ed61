"""The ``wardround`` command line.

This module is the composition root of the CLI: each package owns its commands (``kg/cli.py``,
``tools/cli_*.py``, ``core/audit/cli.py``, ``evals/cli.py``) and they are mounted here.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from core.errors import GraphStoreError, InvalidInput, WardroundError
from core.logging import configure_logging
from core.settings import LOCAL_MODEL_PORT, Settings

if TYPE_CHECKING:
    from agents.approvals import Proposal
    from graphs.events import RoundEvent

app = typer.Typer(
    help="wardround: evidence-grounded ward rounds with a local model.\n\n"
    "Configuration comes from WARDROUND_* environment variables (see README).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
model_app = typer.Typer(
    help="The model endpoint: serve the embedded model, probe an endpoint, replay transcripts.",
    no_args_is_help=True,
)
app.add_typer(model_app, name="model")
out = Console()
err = Console(stderr=True)

DEMO_PATIENT = "aki-on-ckd"
DEMO_QUESTION = "Why is the creatinine rising, and is it safe to continue ibuprofen?"


@app.callback()
def _root(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show info logs.")] = False,
) -> None:
    settings = Settings()
    configure_logging(level="INFO" if verbose else "WARNING", fmt=settings.log_format)


def _fail(error: WardroundError) -> typer.Exit:
    err.print(f"[bold red]error:[/] {error.title}: {error}")
    return typer.Exit(code=2)


# --- model ----------------------------------------------------------------------------------


@model_app.command("serve")
def model_serve(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = LOCAL_MODEL_PORT,
    host: Annotated[str, typer.Option(help="Bind address (keep it loopback).")] = "127.0.0.1",
) -> None:
    """Start llama.cpp's OpenAI-compatible server with the packaged SmolLM2; Ctrl-C stops it."""
    from core.model.local_server import LocalModelServer

    settings = Settings()
    server = LocalModelServer(
        port=port, host=host, log_file=settings.ensure_data_dir() / "model.log"
    )
    started = time.monotonic()
    # SIGTERM (a service manager, `kill`) stops it like Ctrl-C: the default action ended this
    # process at once and left llama.cpp, in its own session, holding the port
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        url = server.start()
        if server.reused:
            out.print(f"a model server is already running at {url}; leaving it alone")
            return
        out.print(f"model server ready at {url} in {time.monotonic() - started:.1f} s")
        while True:
            signal.pause()
    except WardroundError as error:
        raise _fail(error) from error
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()  # nothing to stop when it was reused
    out.print("model server stopped")


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


@model_app.command("probe")
def model_probe(
    url: Annotated[str, typer.Argument(help="Base URL, e.g. http://127.0.0.1:8765/v1")],
    model: Annotated[str, typer.Option(help="Model name to use in probe requests.")] = "default",
) -> None:
    """Print what an OpenAI-compatible endpoint supports (tools, JSON schema shape)."""
    from core.model.client import ModelClient
    from core.model.types import ModelConfig

    async def probe() -> dict[str, Any]:
        async with ModelClient(ModelConfig(base_url=url, model=model, max_retries=0)) as client:
            return (await client.capabilities()).model_dump()

    try:
        caps = asyncio.run(probe())
    except WardroundError as error:
        raise _fail(error) from error
    out.print_json(json.dumps(caps))


@model_app.command("replay")
def model_replay(
    transcript: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSONL file")],
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8766,
    profile: Annotated[
        str, typer.Option(help="Server to emulate: 'vllm' (json_schema) or 'llama-cpp'.")
    ] = "vllm",
) -> None:
    """Serve a transcript over the OpenAI protocol until Ctrl-C (unknown requests get 409)."""
    from core.model.transcript_server import TranscriptServer
    from core.model.types import ModelCapabilities

    caps = ModelCapabilities.full()
    if profile == "llama-cpp":
        caps = ModelCapabilities(tools=True, structured="json_object_schema")
    try:
        server = TranscriptServer(transcript=transcript, profile=caps)
    except WardroundError as error:
        raise _fail(error) from error
    running = server.serve(port=port)
    out.print(f"replaying {transcript} at {running.url}/v1 (Ctrl-C stops)")
    try:
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        running.stop()


# --- ward round -----------------------------------------------------------------------------


def _print_result(result: Any) -> None:
    from agents.cards.words import frame

    # record text and citations contain [brackets]: never let rich read them as markup
    out.rule(f"{result.patient_id}: {result.question}", characters="─")
    out.print(result.answer, markup=False, highlight=False)
    out.print()
    if result.outlook:
        out.print(result.outlook_text(), markup=False, highlight=False)
        out.print()
    out.print(f"[bold]{escape(frame(result.language)['citations'])}[/]")
    for line in result.citations_text():
        out.print(f"  • {line}", markup=False, highlight=False)
    if result.degraded:
        out.print("[yellow]degraded:[/] " + escape("; ".join(result.degraded_reasons)))
    if result.pending_approval:
        out.print(
            "[bold]Waiting for approval[/] (wardround approve --thread "
            f"{result.thread_id} --approver ME --ward W --approve ID --reject ID --all "
            "approve|reject):",
            markup=True,
            highlight=False,
        )
        for p in result.proposals:
            out.print(f"  • {p.id}: {p.summary}", markup=False, highlight=False)
    total = result.timings.get("total", 0.0) / 1000
    out.print(
        f"[dim]run {result.run_id} · thread {result.thread_id} · {total:.1f} s · "
        f"{result.tokens.get('total_tokens', 0)} tokens · model {result.model.name}[/]"
    )


class _Progress:
    """A round's progress on stderr: a line per finished step, and the answer being written."""

    def __init__(self, status: Any) -> None:
        self.status = status
        self.started = time.monotonic()
        self.written = 0
        self.running: set[str] = set()
        self.found: dict[str, int] = {}

    def __call__(self, event: RoundEvent) -> None:
        from graphs.events import FindingReported, Status, Token

        if isinstance(event, Token):
            self.written = 0 if event.restart else self.written + len(event.text)
            self.status.update(f"{self._doing()}: {self.written} characters of the answer written")
        elif isinstance(event, FindingReported):
            self.found[event.step] = self.found.get(event.step, 0) + 1
        elif isinstance(event, Status) and event.phase == "started":
            self.running.add(event.step)
            self.status.update(f"{self._doing()}...")
        elif isinstance(event, Status):
            self.running.discard(event.step)
            elapsed = time.monotonic() - self.started
            found = self.found.pop(event.step, 0)
            detail = f", {found} findings" if found else ""
            err.print(f"  [green]✓[/] {event.step} [dim]({elapsed:.1f} s{detail})[/]")

    def _doing(self) -> str:
        return ", ".join(sorted(self.running)) or "working"


async def _ask(
    settings: Settings,
    patient: str,
    question: str,
    thread: str | None,
    use_model: bool,
    *,
    progress: bool = False,
) -> Any:
    from graphs.run import ask as run_round
    from server.wiring import open_runtime

    async with open_runtime(settings, use_model=use_model) as runtime:
        if not progress:
            return await run_round(
                runtime.graph, patient_id=patient, question=question, thread_id=thread,
                model=runtime.model_info, audit=runtime.audit, principal_id="cli",
            )  # fmt: skip
        with err.status("loading the record...") as status:
            return await run_round(
                runtime.graph, patient_id=patient, question=question, thread_id=thread,
                model=runtime.model_info, audit=runtime.audit, principal_id="cli",
                on_event=_Progress(status),
            )  # fmt: skip


def _patient_source(settings: Settings, patient: str) -> tuple[Settings, str]:
    """A ``.json`` path is a bundle file and the only patient; anything else is an id."""
    as_file = Path(patient)
    if as_file.suffix == ".json" and as_file.is_file():
        return settings.model_copy(update={"patients_dir": as_file}), as_file.stem
    return settings, patient


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question, in English or 繁體中文.")],
    patient: Annotated[str, typer.Option(help="Patient id in the record store, or a bundle file.")],
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the versioned JSON result.")
    ] = False,
    thread: Annotated[str | None, typer.Option(help="Continue this thread id.")] = None,
    no_model: Annotated[
        bool, typer.Option("--no-model", help="Deterministic findings only (degraded mode).")
    ] = False,
) -> None:
    """Run one ward round on a patient and print the answer with its citations."""
    try:
        settings, patient_id = _patient_source(Settings(), patient)
        ensure_kg(settings)
        result = asyncio.run(
            _ask(settings, patient_id, question, thread, not no_model, progress=not json_out)
        )
    except WardroundError as error:
        raise _fail(error) from error
    if json_out:
        sys.stdout.write(result.model_dump_json(indent=2) + "\n")
    else:
        _print_result(result)


async def _resume(settings: Settings, thread: str, decide: Any) -> Any:
    """Resume ``thread`` with ``decide(pending proposals)`` (an ``ApprovalResume``)."""
    from agents.approvals import pending_proposals
    from graphs.run import resume
    from server.wiring import open_runtime

    async with open_runtime(settings, use_model=False) as runtime:
        snapshot = await runtime.graph.aget_state({"configurable": {"thread_id": thread}})
        return await resume(
            runtime.graph,
            thread_id=thread,
            decision=decide(pending_proposals(snapshot)),
            model=runtime.model_info,
            audit=runtime.audit,
        )


def _choices(pending: list[Proposal], named: dict[str, str], rest: str | None) -> dict[str, str]:
    """proposal id → decision: each named one as named, every other pending one as ``rest``."""
    ids = [p.id for p in pending]
    unknown = sorted(set(named) - set(ids))
    if unknown:
        raise InvalidInput(f"not pending on this thread: {', '.join(unknown)}")
    undecided = [p for p in pending if p.id not in named]
    if undecided and rest is None:
        listed = "; ".join(f"{p.id} ({p.summary})" for p in undecided)
        raise InvalidInput(
            f"decide every pending proposal (or --all approve|reject for the rest): {listed}"
        )
    return {pid: named.get(pid, rest or "") for pid in ids}


@app.command()
def approve(  # keyword-only: typer reads them as options
    *,
    thread: Annotated[str, typer.Option(help="The thread waiting for approval.")],
    approver: Annotated[str, typer.Option(help="Your clinician id (recorded in the audit).")],
    ward: Annotated[list[str], typer.Option(help="Ward(s) you work on; repeat for several.")],
    approve_ids: Annotated[
        list[str] | None, typer.Option("--approve", help="Proposal id to approve; repeatable.")
    ] = None,
    reject_ids: Annotated[
        list[str] | None, typer.Option("--reject", help="Proposal id to reject; repeatable.")
    ] = None,
    all_rest: Annotated[
        str | None,
        typer.Option("--all", help="'approve' or 'reject' every pending proposal not named."),
    ] = None,
    proposal: Annotated[
        str | None,
        typer.Option(help="One proposal id (with --decision), as `ask --json` lists it."),
    ] = None,
    decision: Annotated[
        str | None, typer.Option(help="'approve' or 'reject' (--proposal).")
    ] = None,
    comment: Annotated[str, typer.Option(help="Why (recorded with every decision).")] = "",
    edit: Annotated[
        list[str] | None,
        typer.Option(help="key=value change to the one approved proposal; repeatable."),
    ] = None,
) -> None:
    """Decide the proposed writes of a paused thread, as a clinician on the patient's ward.

    A round pauses on all its proposals at once and resumes once: name each one with --approve
    or --reject, or decide the rest with --all. Example:
    wardround approve --thread T --approver dr-lin --ward 7A --reject PID1 --all approve

    The CLI is the trusted local operator's tool: it records the approver you name. Over HTTP
    the approver is the authenticated principal.
    """
    from agents.approvals import ApprovalResume, Approver, Decision

    named = dict.fromkeys(approve_ids or [], "approve")
    named |= dict.fromkeys(reject_ids or [], "reject")
    if proposal is not None:
        named[proposal] = decision or ""
    edits = dict(item.split("=", 1) for item in edit or []) or None

    def decide(pending: list[Proposal]) -> ApprovalResume:
        chosen = _choices(pending, named, all_rest)
        approved = [pid for pid, d in chosen.items() if d == "approve"]
        if edits and len(approved) != 1:
            raise InvalidInput("--edit changes one approved proposal: approve exactly one")
        return ApprovalResume(
            approver=Approver(id=approver, role="clinician", wards=ward),
            decisions=[
                Decision.model_validate(
                    {
                        "proposal_id": pid,
                        "decision": d,
                        "comment": comment,
                        "edits": edits if d == "approve" else None,
                    }
                )
                for pid, d in chosen.items()
            ],
        )

    try:
        result = asyncio.run(_resume(Settings(), thread, decide))
    except WardroundError as error:
        raise _fail(error) from error
    except ValueError as error:  # pydantic: an impossible decision value
        err.print(f"[bold red]error:[/] {error}")
        raise typer.Exit(code=2) from error
    for d in result.decisions:
        out.print(f"{d.proposal_id}: {d.decision} by {d.approver} ({d.digest})")
        if d.recorded_as:
            out.print(f"  recorded as {', '.join(d.recorded_as)}")


@app.command()
def demo(
    patient: Annotated[str, typer.Option(help="Shipped scenario patient.")] = DEMO_PATIENT,
    question: Annotated[str, typer.Option(help="Question to ask.")] = DEMO_QUESTION,
    port: Annotated[int, typer.Option(help="Port for the local model server.")] = LOCAL_MODEL_PORT,
) -> None:
    """Prepare the embedded stores, start the local model, run one ward round, stop the model."""
    from core.model.local_server import LocalModelServer

    # llama.cpp's server decodes one request at a time: queue on our side, so the first-token
    # timeout measures the model, not the queue.
    # SmolLM2 on 2 CPU cores with grammar-constrained JSON writes a few tokens a second: short
    # replies, patient limits.
    settings = Settings().model_copy(
        update={
            "model_max_concurrency": 1,
            "model_max_output_tokens": 480,
            "model_first_token_timeout_s": 300.0,
            "model_total_timeout_s": 300.0,
            "round_deadline_s": 900.0,
            "model_base_url": f"http://127.0.0.1:{port}/v1",
        }
    )
    data_dir = settings.ensure_data_dir()
    try:
        ensure_kg(settings, out)
    except WardroundError as error:
        raise _fail(error) from error
    server = LocalModelServer(port=port, log_file=data_dir / "model.log")
    try:
        with out.status("starting the local model (llama.cpp + SmolLM2-135M)..."):
            started = time.monotonic()
            url = server.start()
        out.print(f"model ready at {url} ({time.monotonic() - started:.1f} s)")
        result = asyncio.run(_ask(settings, patient, question, None, True, progress=True))
        _print_result(result)
    except WardroundError as error:
        raise _fail(error) from error
    finally:
        server.stop()


def ensure_kg(settings: Settings, console: Console | None = None) -> None:
    """Make sure the embedded knowledge graph is there before a round, saying so on ``console``
    (stderr by default, so stdout stays the answer).

    A round without it checks no interaction, contraindication or allergy conflict, so a first
    ``ask``, ``serve`` or ``demo`` in a fresh data dir loads it (``WARDROUND_KG_SCOPE``: by
    default the curated facts, which hold every check, in seconds; the open data's HPO and
    ICD-10-CM add a minute or two and come with ``wardround kg load``), and one whose content an
    upgrade changed is reloaded at the scope it was loaded with; a current graph is left as it
    is. If it cannot be loaded the command stops and says how to load it: it does not run the
    round without it. A Neo4j graph is the operator's to load (``wardround kg load --backend
    neo4j``).
    """
    if settings.kg_backend != "ladybug":
        return
    from kg.load import ladybug_state, load_ladybug

    say = console or err
    path = settings.kg_path
    try:
        state, scope = ladybug_state(path, scope=settings.kg_scope)
        if state == "current":
            return
        why = (
            f"none in {path.parent} yet"
            if state == "missing"
            else "its content is older than this wardround's data"
        )
        say.print(
            f"knowledge graph: {why}; loading it (scope {scope}, once; the full graph takes one "
            "to two minutes). Interactions, contraindications and allergy conflicts need it."
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        with say.status("knowledge graph: loading..."):
            result = load_ladybug(path, scope=scope, show_progress=False, wait=True)
    except (WardroundError, OSError) as error:
        raise GraphStoreError(
            f"the knowledge graph could not be loaded into {path} ({error}); without it no "
            "interaction, contraindication or allergy conflict is checked, so no round was "
            "run. Load it with `wardround kg load` (see README, Knowledge graph) and ask again"
        ) from error
    if not result.skipped:  # another process may have loaded it while this one waited
        say.print(
            f"knowledge graph {result.version} loaded: {result.nodes} nodes, {result.edges} "
            f"edges in {result.seconds:.0f} s"
        )


def _mount_package_commands() -> None:
    """Mount the commands each package owns (optional ones only while they are being built)."""
    mounts = (
        ("kg.cli", "kg", "The medical knowledge graph: load, stats, read-only query."),
        ("core.audit.cli", "audit", "The audit store: verify, runs, export, checkpoint."),
        ("evals.cli", "evals", "Record, replay, run, report and diff eval suites."),
    )
    import importlib

    for module_name, name, help_text in mounts:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as missing:
            if missing.name != module_name:
                raise  # the package is there but one of its imports is not: say so
            continue
        app.add_typer(module.app, name=name, help=help_text)
    for module_name in (
        "tools.cli_labs",
        "tools.cli_calc",
        "tools.cli_resolve",
        "server.cli_serve",
        "server.cli_db",
    ):
        try:
            importlib.import_module(module_name).register(app)
        except ModuleNotFoundError as missing:
            if missing.name != module_name:
                raise
            continue


_mount_package_commands()


def main() -> None:
    app()
