"""Record one whole ward round as a transcript that replays with no model and no data directory.

A transcript (JSONL, UTF-8) holds, in order:

1. ``{"type": "header", ...}``: ``format``, ``created_at``, ``code_version`` (``git describe`` or
   the package version), ``topology_sha256`` (sha256 of the compiled graph's mermaid drawing),
   ``model`` (name; base URL kept for the record, not compared), ``capabilities`` (the probed
   profile: replay serves probes from it, so probe calls are never recorded), ``case_id``,
   ``patient_id``, ``question``, ``clock`` (the fixed "now" of the round: ages and deadlines reach
   the prompts), ``phi`` and ``result`` (the canonical final result, ``evals.canonical``).
2. ``{"type": "fhir_record", ...}``: the parsed patient record the round ran on (the FHIR fetch),
   so replay needs no bundle on disk.
3. ``{"type": "model_call", ...}``: one per model call, in completion order (specialists run in
   parallel; replay matches on the request body, not on order), with ``duration_ms``,
   ``attempts`` and ``usage`` beside what ``core.model.transcript`` reads.

4. ``{"type": "kg_query", ...}``: one per knowledge-graph query when the round ran with a KG
   (``evals.kg_io``); the header then says ``kg: true`` and names the KG's ``kg_version``.

Secrets are always scrubbed and PHI is handled as asked (``evals.scrub``).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from langgraph.checkpoint.memory import InMemorySaver

from agents.deps import RecordSource, WardRoundDeps
from core.domain import PatientRecord
from core.errors import RecordNotFound, WardroundError
from core.model.client import ModelClient
from core.model.probe import PROBE_MARKER
from core.model.transcript import RecordedCall
from core.model.types import ModelCall
from core.settings import Settings
from evals.canonical import canonical_result
from evals.kg_io import QueryTranscript
from evals.scrub import PhiMode, PhiRedactor, scrub_secrets
from graphs.result import ModelInfo, WardRoundResult
from graphs.run import ask
from graphs.ward_round import build_ward_round
from kg.observed import observe
from kg.store import GraphStore
from server.wiring import build_deps

FORMAT = "wardround-transcript/1"
DEFAULT_DEADLINE_S = 1800.0
"""The round deadline of recorded rounds: generous, since per-call timeouts already bound them."""
EVAL_NOW = datetime(2025, 12, 1, 12, 0, tzinfo=UTC)
"""The fixed clock of a round on a record with no dated facts."""


@dataclass(frozen=True)
class RoundSpec:
    patient_id: str
    question: str
    case_id: str = ""
    round_deadline_s: float = 0.0
    """0: ``DEFAULT_DEADLINE_S``. A model call the deadline abandons mid-flight never completes,
    so it is never recorded and the round cannot replay: evals give slow models room."""
    now: datetime | None = None
    """The round's fixed "now"; ``None``: one hour after the record's latest dated fact (the
    round happens just after the latest results), so every case sees its own admission."""


def round_clock(record: PatientRecord) -> datetime:
    dated = [o.effective for o in record.observations if o.effective is not None]
    dated += [n.date for n in record.notes if n.date is not None]
    latest = max((d if d.tzinfo else d.replace(tzinfo=UTC) for d in dated), default=None)
    return (latest + timedelta(hours=1)).astimezone(UTC) if latest else EVAL_NOW


@dataclass
class Recording:
    header: dict[str, Any]
    record: dict[str, Any]
    calls: list[dict[str, Any]]
    result: WardRoundResult
    kg_queries: list[dict[str, Any]] = field(default_factory=list)

    def lines(self) -> list[dict[str, Any]]:
        fhir = {
            "type": "fhir_record",
            "patient_id": self.header["patient_id"],
            "record": self.record,
        }
        return [self.header, fhir, *self.kg_queries, *self.calls]

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        text = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in self.lines())
        path.write_text(text, encoding="utf-8")
        return path


class StoredRecordSource:
    """A record source holding exactly one already-loaded patient record."""

    def __init__(self, record: PatientRecord) -> None:
        self.record = record

    async def load(self, patient_id: str) -> PatientRecord:
        if patient_id != self.record.patient.id:
            raise RecordNotFound(f"{patient_id!r} is not the recorded patient")
        return self.record


@dataclass
class CallRecorder:
    """A ``ModelClient`` observer turning each call into a scrubbed transcript line."""

    redactor: PhiRedactor = field(default_factory=PhiRedactor)
    lines: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, call: ModelCall) -> None:
        if _is_probe(call.request):
            return
        recorded = RecordedCall(
            request=call.request,
            response=call.response,
            chunks=call.chunks,
            status=_status_of(call),
            error=call.error,
        )
        line = recorded.to_line()
        line.update(
            duration_ms=round(call.duration_ms, 1),
            attempts=call.attempts,
            usage=call.usage,
        )
        self.lines.append(self.redactor.scrub(scrub_secrets(line)))


def _status_of(call: ModelCall) -> int:
    if call.error is None:
        return 200
    return call.status or 504  # no HTTP status: a timeout or a broken stream


def _is_probe(body: dict[str, Any]) -> bool:
    messages = body.get("messages") or [{}]
    content = messages[0].get("content") if isinstance(messages[0], dict) else None
    return isinstance(content, str) and content.startswith(PROBE_MARKER)


@functools.cache
def code_version() -> str:
    """``git describe`` of the tree when this module was first asked (warmed at import, so a long
    run reports the code it loaded, not what the tree holds by the end)."""
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--tags"],  # noqa: S607 - git on PATH
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
            cwd=Path(__file__).resolve().parent,
        )
        return f"git:{out.stdout.strip()}"
    except (OSError, subprocess.SubprocessError):
        try:
            return f"pkg:{importlib.metadata.version('wardround')}"
        except importlib.metadata.PackageNotFoundError:
            return "unknown"


code_version()


def topology_sha256(graph: Any) -> str:
    return hashlib.sha256(graph.get_graph().draw_mermaid().encode()).hexdigest()


def round_deps(
    record: PatientRecord,
    model: ModelClient,
    now: datetime,
    graph_store: GraphStore | None = None,
    round_deadline_s: float = DEFAULT_DEADLINE_S,
) -> WardRoundDeps:
    """A recorded (or replayed) round's dependencies, from the composition root: the stored
    record, the given model and KG (none: no KG), a fixed clock. Every setting that shapes a
    request is fixed here rather than read from the environment, so a replay asks what the
    recording asked: no reply cap, no model-requested tool steps, no vision model."""
    settings = Settings(
        round_deadline_s=round_deadline_s,
        max_tool_steps=0,
        model_max_output_tokens=None,
        vision_base_url=None,
        vision_model_name=None,
        outbox="file",
    )
    return build_deps(
        settings,
        model=model,
        patients=StoredRecordSource(record),
        graph_store=graph_store,
        use_kg=graph_store is not None,
        clock=lambda: now,
    )


async def record_round(
    spec: RoundSpec,
    *,
    model: ModelClient,
    patients: RecordSource,
    graph_store: GraphStore | None = None,
    phi: PhiMode = "keep",
) -> Recording:
    """Run one ward round against ``model`` and capture it as a transcript."""
    loaded = await patients.load(spec.patient_id)
    redactor = PhiRedactor.for_record(loaded) if phi == "redact" else PhiRedactor()
    record = redactor.record(loaded) if phi == "redact" else loaded
    now = spec.now or round_clock(record)
    capabilities = await model.capabilities()  # probed before recording starts: never recorded
    transcript = QueryTranscript()
    kg = observe(graph_store, transcript) if graph_store is not None else None
    deadline = spec.round_deadline_s or DEFAULT_DEADLINE_S
    graph = build_ward_round(round_deps(record, model, now, kg, deadline), InMemorySaver())
    recorder = CallRecorder(redactor)
    model.observers.append(recorder)
    try:
        info = ModelInfo(
            base_url=model.config.base_url,
            name=model.config.model,
            tools=capabilities.tools,
            structured=capabilities.structured,
        )
        result = await ask(graph, patient_id=spec.patient_id, question=spec.question, model=info)
    finally:
        model.observers.remove(recorder)
    header: dict[str, Any] = {
        "type": "header",
        "format": FORMAT,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "code_version": code_version(),
        "topology_sha256": topology_sha256(graph),
        "model": {"name": model.config.model, "base_url": model.config.base_url},
        "capabilities": capabilities.model_dump(mode="json"),
        "kg": kg is not None,
        "kg_version": _kg_version(graph_store),
        "case_id": spec.case_id,
        "patient_id": spec.patient_id,
        "question": spec.question,
        "clock": now.isoformat(),
        "round_deadline_s": deadline,
        "phi": phi,
        "timings": result.timings,
        "result": redactor.scrub(canonical_result(result)),
    }
    return Recording(
        header=header,
        record=redactor.scrub(record.model_dump(mode="json")),
        calls=recorder.lines,
        result=result,
        kg_queries=[redactor.scrub(line) for line in transcript.lines],
    )


def _kg_version(store: GraphStore | None) -> str | None:
    if store is None:
        return None
    try:
        return store.stats().content_version
    except WardroundError:
        return None
