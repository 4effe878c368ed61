"""Run a suite: record every case against one model, score it, write ``results.json``.

Every case is recorded as a transcript (``<out>/transcripts/<case>.jsonl``), so any case of any
run can be replayed later (``wardround evals replay``). A case that fails outright (unknown
patient, a bug) is reported with its error and left out of the suite metrics.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agents.deps import RecordSource
from core.domain import PatientRecord
from core.errors import WardroundError
from core.model.client import ModelClient
from core.model.transcript_server import TranscriptServer
from core.model.types import ModelConfig
from core.settings import Settings
from evals.cases import Case, Suite
from evals.metrics import CaseMetrics, case_metrics, suite_metrics
from evals.record import RoundSpec, code_version, record_round
from evals.scripted import scripted_ward_model
from evals.scrub import PhiMode

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
    graph_store: Any = None,
    verify_replay: bool = True,
) -> dict[str, Any]:
    recording = await record_round(
        RoundSpec(patient_id=case.patient, question=case.question, case_id=case.id),
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
    model: ModelClient,
    patients: RecordSource,
    out: Path,
    phi: PhiMode = "keep",
    graph_store: Any = None,
    verify_replay: bool = True,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Record and score every case of ``suite``; write and return ``results.json``."""
    rows: list[dict[str, Any]] = []
    for number, case in enumerate(suite.cases, start=1):
        if progress is not None:
            progress(f"[{number}/{len(suite.cases)}] {case.id}")
        try:
            row = await run_case(
                case, model=model, patients=patients, out=out, phi=phi, graph_store=graph_store,
                verify_replay=verify_replay,
            )  # fmt: skip
            rows.append(row)
        except WardroundError as err:
            error = f"{err.title}: {err}"
            rows.append({"case_id": case.id, "patient": case.patient, "error": error})
            if progress is not None:
                progress(f"  failed: {error}")
    scored = [CaseMetrics.model_validate(r["metrics"]) for r in rows if r.get("error") is None]
    capabilities = await model.capabilities()
    results = {
        "format": RESULTS_FORMAT,
        "suite": suite.name,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "code_version": code_version(),
        "model": {
            "name": model.config.model,
            "base_url": model.config.base_url,
            "capabilities": capabilities.model_dump(mode="json"),
        },
        "errors": sum(r.get("error") is not None for r in rows),
        "replays": {
            "checked": sum(bool(r.get("replay")) for r in rows),
            "identical": sum(bool((r.get("replay") or {}).get("identical")) for r in rows),
        },
        "summary": suite_metrics(scored).model_dump(mode="json"),
        "cases": rows,
    }
    await asyncio.to_thread(write_json, out / "results.json", results)
    return results


def write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def load_results(path: Path) -> dict[str, Any]:
    """``results.json`` of a run (``path`` may be the run directory)."""
    file = path / "results.json" if path.is_dir() else path
    data: dict[str, Any] = json.loads(file.read_text(encoding="utf-8"))
    return data
