"""Replay a recorded ward round against the transcript server and compare the final result.

The graph is rebuilt from today's code with the recorded patient record, clock, model name and
capability profile; the model is a ``TranscriptServer`` over the transcript, reached in-process by
the real ``openai`` client. Any request the transcript does not hold fails the replay loudly with a
diff against the nearest recorded request (``ReplayMismatch``); otherwise the canonical result
(``evals.canonical``) must equal the recorded one, or the outcome carries the diff.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from langgraph.checkpoint.memory import InMemorySaver
from starlette.responses import Response

from core.domain import PatientRecord
from core.errors import DataFileError, WardroundError
from core.model.client import ModelClient
from core.model.transcript import RecordedCall, read_transcript, transcript_lines
from core.model.transcript_server import TranscriptServer
from core.model.types import ModelCall, ModelCapabilities, ModelConfig
from evals.canonical import canonical_result, result_diff
from evals.kg_io import ReplayGraphStore
from evals.record import DEFAULT_DEADLINE_S, code_version, round_deps, topology_sha256
from evals.request_diff import nearest_diff
from graphs.result import ModelInfo, WardRoundResult
from graphs.run import ask
from graphs.ward_round import build_ward_round

REPLAY_TOTAL_TIMEOUT_S = 3.0
"""The replay client's whole-call timeout when the transcript holds timed-out calls."""
TIMEOUT_STALL_S = 6.0
"""How long the replay server sits on a call recorded as timed out (past the client's timeout)."""


class ReplayServer(TranscriptServer):
    """The transcript server, except that a call recorded as timed out times out again."""

    async def _answer(
        self, body: dict[str, Any]
    ) -> Response | tuple[dict[str, Any], list[dict[str, Any]]]:
        answer = await super()._answer(body)
        stalled = isinstance(answer, Response) and answer.status_code == 504
        if stalled and b"ModelTimeout" in bytes(cast("Response", answer).body):
            await asyncio.sleep(TIMEOUT_STALL_S)
        return answer


def _timed_out(call: RecordedCall) -> bool:
    return (call.error or "").startswith("ModelTimeout")


class ReplayMismatch(WardroundError):
    """The replayed run made a model request the transcript does not hold (prompt/code drift)."""

    title = "Replay mismatch"


@dataclass
class ReplayOutcome:
    path: Path
    identical: bool
    diff: str
    """Unified diff of recorded vs replayed canonical result ('' when identical)."""
    unused_calls: int
    """Recorded calls the replay never asked for: the run now makes fewer calls."""
    unused_kg_queries: int
    topology_changed: bool
    code_version: str
    recorded_code_version: str
    result: WardRoundResult

    @property
    def ok(self) -> bool:
        return self.identical and self.unused_calls == 0 and self.unused_kg_queries == 0


def read_run(path: Path) -> tuple[dict[str, Any], PatientRecord, list[dict[str, Any]]]:
    """Header, patient record and KG queries of a transcript written by ``evals.record``."""
    header: dict[str, Any] = {}
    record: PatientRecord | None = None
    kg_queries: list[dict[str, Any]] = []
    for _number, line in transcript_lines(path):
        if line.get("type") == "header":
            header = line
        elif line.get("type") == "fhir_record":
            record = PatientRecord.model_validate(line["record"])
        elif line.get("type") == "kg_query":
            kg_queries.append(line)
    if not header or record is None:
        raise DataFileError(
            "not a ward-round transcript (no header or fhir_record)", file=str(path)
        )
    return header, record, kg_queries


class _MismatchWatch:
    def __init__(self) -> None:
        self.missed: list[dict[str, Any]] = []

    def __call__(self, call: ModelCall) -> None:
        if call.error and call.error.startswith("TranscriptMismatch"):
            self.missed.append(call.request)


def _cut_note(header: dict[str, Any]) -> str:
    reasons = " ".join(header.get("result", {}).get("degraded_reasons", []))
    if "round deadline" not in reasons:
        return ""
    return (
        "\n(note: the recorded round was cut by its deadline; a model call abandoned mid-flight"
        " is never recorded, so the replay asks for it)"
    )


async def _no_sleep(_seconds: float) -> None:
    return None


async def replay(path: Path) -> ReplayOutcome:
    """Re-run the transcript's round; raise ``ReplayMismatch`` if a request is not in it."""
    header, record, kg_queries = read_run(path)
    kg = ReplayGraphStore(kg_queries) if header.get("kg") else None
    profile = ModelCapabilities.model_validate(header["capabilities"])
    name = header["model"]["name"]
    server = ReplayServer(transcript=path, profile=profile, model_name=name)
    _, recorded_calls = read_transcript(path)
    timeouts = any(_timed_out(c) for c in recorded_calls)
    watch = _MismatchWatch()
    async with server.http_client() as http:
        config = ModelConfig(base_url=server.base_url_inprocess, model=name)
        if timeouts:
            config = dataclasses.replace(config, total_timeout_s=REPLAY_TOTAL_TIMEOUT_S)
        async with ModelClient(
            config, http_client=http, capabilities=profile, sleep=_no_sleep
        ) as model:
            model.observers.append(watch)
            now = datetime.fromisoformat(header["clock"])
            deadline = float(header.get("round_deadline_s") or DEFAULT_DEADLINE_S)
            deps = round_deps(record, model, now, kg, deadline)
            graph = build_ward_round(deps, InMemorySaver())
            info = ModelInfo(
                base_url=header["model"].get("base_url"),
                name=name,
                tools=profile.tools,
                structured=profile.structured,
            )
            result = await ask(
                graph, patient_id=header["patient_id"], question=header["question"], model=info
            )
    if kg is not None and kg.misses:
        raise ReplayMismatch(f"{path}: knowledge-graph drift\n" + "\n".join(kg.misses))
    if watch.missed:
        diffs = "\n\n".join(nearest_diff(recorded_calls, body) for body in watch.missed)
        raise ReplayMismatch(
            f"{path}: {len(watch.missed)} request(s) not in the transcript "
            f"(prompt or code drift); each against its nearest recorded request:{_cut_note(header)}"
            f"\n{diffs}"
        )
    replayed = canonical_result(result)
    return ReplayOutcome(
        path=path,
        identical=replayed == header["result"],
        diff=result_diff(header["result"], replayed),
        unused_calls=len(server._index.unused()) if server._index is not None else 0,
        unused_kg_queries=kg.unused() if kg is not None else 0,
        topology_changed=topology_sha256(graph) != header.get("topology_sha256"),
        code_version=code_version(),
        recorded_code_version=str(header.get("code_version", "")),
        result=result,
    )
