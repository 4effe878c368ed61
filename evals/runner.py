"""Run a suite: record every case against one model, score it, write ``results.json``.

Every case is recorded as a transcript (``<out>/transcripts/<case>.jsonl``), so any case of any
run can be replayed later (``wardround evals replay``). A case that fails outright (unknown
patient, a bug) is reported with its error and left out of the suite metrics. Cases run
concurrently against a pool of model clients (``run_suite(model=[...])``); runs of parts of a suite
merge into one (``merge_results``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agents.deps import RecordSource
from core.domain import PatientRecord
from core.errors import DataFileError, InvalidInput, WardroundError
from core.model.client import ModelClient
from core.model.transcript_server import TranscriptServer
from core.model.types import ModelConfig
from core.settings import Settings
from evals.cases import Case, Suite
from evals.metrics import CaseMetrics, case_metrics, suite_metrics
from evals.record import RoundSpec, code_version, record_round
from evals.scripted import scripted_ward_model
from evals.scrub import PhiMode
from kg.store import GraphStore

RESULTS_FORMAT = "wardround-eval-results/1"
SCRIPTED = "scripted"
"""``--model-url scripted``: the in-process deterministic stand-in (``evals.scripted``)."""


@asynccontextmanager
async def open_model(
    url: str, name: str, settings: Settings | None = None
) -> AsyncIterator[ModelClient]:
    """A client for ``url`` (timeouts, retries and key from ``settings``), or for the scripted
    stand-in when ``url`` is ``scripted``."""
    if url == SCRIPTED:
        server = TranscriptServer(script=scripted_ward_model, model_name=SCRIPTED)
        async with server.http_client() as http:
            config = ModelConfig(base_url=server.base_url_inprocess, model=SCRIPTED)
            async with ModelClient(config, http_client=http, capabilities=server.profile) as model:
                yield model
        return
    base = ModelConfig.from_settings(settings or Settings())
    async with ModelClient(dataclasses.replace(base, base_url=url, model=name)) as model:
        yield model


async def run_case(
    case: Case,
    *,
    model: ModelClient,
    patients: RecordSource,
    out: Path,
    phi: PhiMode,
    graph_store: GraphStore | None = None,
    verify_replay: bool = True,
    round_deadline_s: float = 0.0,
) -> dict[str, Any]:
    spec = RoundSpec(
        patient_id=case.patient,
        question=case.question,
        case_id=case.id,
        round_deadline_s=round_deadline_s,
    )
    recording = await record_round(
        spec,
        model=model,
        patients=patients,
        graph_store=graph_store,
        phi=phi,
    )
    path = await asyncio.to_thread(recording.write, out / "transcripts" / f"{case.id}.jsonl")
    record = PatientRecord.model_validate(recording.record)
    metrics = case_metrics(
        case,
        recording.result,
        record_refs=record.refs(),
        requests=[c["request"] for c in recording.calls],
        lab_of_ref={o.ref: o.loinc for o in record.observations if o.loinc},
    )
    result = recording.result
    return {
        "case_id": case.id,
        "patient": case.patient,
        "question": case.question,
        "language": case.language,
        "answer": result.answer,
        "findings": sorted(f"{f.origin}:{f.id}" for f in result.findings),
        "degraded_reasons": result.degraded_reasons,
        "transcript": str(path.relative_to(out)),
        "replay": await _replay_check(path) if verify_replay else None,
        "metrics": metrics.model_dump(mode="json"),
        "error": None,
    }


async def _replay_check(path: Path) -> dict[str, Any]:
    """Replay the fresh transcript with the code that recorded it: determinism, checked."""
    from evals.replay import ReplayMismatch, replay

    try:
        outcome = await replay(path)
    except ReplayMismatch as mismatch:
        return {"identical": False, "detail": str(mismatch)[:4000]}
    return {"identical": outcome.ok, "detail": outcome.diff[:4000]}


async def run_suite(
    suite: Suite,
    *,
    model: ModelClient | Sequence[ModelClient],
    patients: RecordSource,
    out: Path,
    phi: PhiMode = "keep",
    graph_store: GraphStore | None = None,
    verify_replay: bool = True,
    round_deadline_s: float = 0.0,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Record and score every case of ``suite``; write and return ``results.json``.

    With several model clients the cases run concurrently, each client serving one round at a
    time (a client's observers record its round's calls, so rounds never share one). The file is
    rewritten as each case ends: a run cut short leaves its finished cases scored, marked
    ``complete: false``."""
    models = [model] if isinstance(model, ModelClient) else list(model)
    pool: asyncio.Queue[ModelClient] = asyncio.Queue()
    for client in models:
        pool.put_nowait(client)
    rows: dict[str, dict[str, Any]] = {}
    write_lock = asyncio.Lock()
    say = progress or (lambda _line: None)

    async def one(number: int, case: Case) -> None:
        client = await pool.get()
        say(f"[{number}/{len(suite.cases)}] {case.id}")
        try:
            rows[case.id] = await run_case(
                case, model=client, patients=patients, out=out, phi=phi, graph_store=graph_store,
                verify_replay=verify_replay, round_deadline_s=round_deadline_s,
            )  # fmt: skip
        except WardroundError as err:
            error = f"{err.title}: {err}"
            rows[case.id] = {"case_id": case.id, "patient": case.patient, "error": error}
            say(f"  {case.id} failed: {error}")
        finally:
            pool.put_nowait(client)
        async with write_lock:
            done = [rows[c.id] for c in suite.cases if c.id in rows]
            partial = await results_document(suite, models[0], done)
            await asyncio.to_thread(write_json, out / "results.json", partial)

    async with asyncio.TaskGroup() as group:
        for number, case in enumerate(suite.cases, start=1):
            group.create_task(one(number, case))
    results = await results_document(suite, models[0], [rows[c.id] for c in suite.cases])
    await asyncio.to_thread(write_json, out / "results.json", results)
    return results


async def results_document(
    suite: Suite, model: ModelClient, rows: list[dict[str, Any]]
) -> dict[str, Any]:
    """``results.json`` for the rows finished so far (``complete`` once every case has one)."""
    capabilities = await model.capabilities()
    return summarize(
        {
            "format": RESULTS_FORMAT,
            "suite": suite.name,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "code_version": code_version(),
            "model": {
                "name": model.config.model,
                "base_url": model.config.base_url,
                "capabilities": capabilities.model_dump(mode="json"),
            },
            "planned": len(suite.cases),
            "cases": rows,
        }
    )


def summarize(results: dict[str, Any]) -> dict[str, Any]:
    """``results`` with its counts and suite metrics (re)computed from its case rows."""
    rows = results["cases"]
    scored = [CaseMetrics.model_validate(r["metrics"]) for r in rows if r.get("error") is None]
    return {
        **results,
        "complete": len(rows) >= int(results.get("planned") or len(rows)),
        "errors": sum(r.get("error") is not None for r in rows),
        "replays": {
            "checked": sum(bool(r.get("replay")) for r in rows),
            "identical": sum(bool((r.get("replay") or {}).get("identical")) for r in rows),
        },
        "summary": suite_metrics(scored).model_dump(mode="json"),
        "cases": rows,
    }


def merge_results(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One run out of several runs of parts of a suite (the first run's metadata; every case once).

    Raises ``InvalidInput`` when the runs are of different suites or models, or share a case."""
    first = runs[0]
    rows: list[dict[str, Any]] = []
    for run in runs:
        if (run["suite"], run["model"]["name"]) != (first["suite"], first["model"]["name"]):
            raise InvalidInput("runs of different suites or models cannot be merged")
        rows += run["cases"]
    ids = [r["case_id"] for r in rows]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise InvalidInput(f"cases in more than one run: {', '.join(twice)}")
    planned = max(int(r.get("planned") or len(r["cases"])) for r in runs)
    return summarize({**first, "planned": planned, "cases": rows})


def write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def load_results(path: Path) -> dict[str, Any]:
    """``results.json`` of a run (``path`` may be the run directory)."""
    file = path / "results.json" if path.is_dir() else path
    if not file.is_file():
        raise DataFileError("no results.json here", file=str(file))
    try:
        data: dict[str, Any] = json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise DataFileError(f"not JSON: {err.msg}", file=str(file), line=err.lineno) from err
    return data
