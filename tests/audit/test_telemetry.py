"""OpenTelemetry export: a recorded round goes out over real OTLP/HTTP to a receiver started here,
which decodes the protobuf. Span names, parent/child links and GenAI attributes are checked, and
no patient data (name, id, question, note text) appears in any byte sent; content export is
opt-in and redacted. Without the ``otel`` extra, a configured endpoint fails at startup."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from core.audit import AuditStore
from core.errors import RecordNotFound
from core.settings import REPO_ROOT, Settings
from core.telemetry import open_telemetry, traces_url
from graphs.run import ask
from kg.store import GraphStore
from server.wiring import open_runtime
from tests.audit.kg_round import PATIENT, curated_kg, guideline_model
from tools.fhir.sources import DirectoryPatientSource

pytest.importorskip("opentelemetry.sdk", reason="the otel extra is not installed")
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

# the question names the patient by id: it reaches the prompts, so content export must redact it
QUESTION = f"Is {PATIENT}'s potassium of 6.4 from the ramipril and spironolactone? Q-42"


class Receiver:
    """An OTLP/HTTP trace receiver on a loopback port: keeps every request body it is sent."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.paths: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                receiver.bodies.append(self.rfile.read(length))
                receiver.paths.append(self.path)
                reply = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                return None

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        self.thread.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.http.server_address[1]}"

    def spans(self) -> list[Any]:
        found = []
        for body in self.bodies:
            request = ExportTraceServiceRequest.FromString(body)
            for resource_spans in request.resource_spans:
                for scope_spans in resource_spans.scope_spans:
                    found.extend(scope_spans.spans)
        return found

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()
        self.thread.join()


def attrs(span: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kv in span.attributes:
        value = kv.value
        field = value.WhichOneof("value")
        if field == "array_value":
            out[kv.key] = [v.string_value for v in value.array_value.values]
        else:
            out[kv.key] = getattr(value, field)
    return out


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture(scope="module")
def kg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphStore]:
    store = curated_kg(tmp_path_factory.mktemp("kg"))
    yield store
    store.close()


async def exported_round(
    tmp_path: Path, kg: GraphStore, scripted_model: Any, receiver: Receiver, *, content: bool
) -> list[Any]:
    """One recorded round on the runtime the server builds, exporting to ``receiver``; leaving
    the runtime shuts the exporter down, which flushes every span."""
    settings = Settings(
        data_dir=tmp_path, otel_endpoint=receiver.endpoint, otel_export_content=content
    )
    _, model = scripted_model(guideline_model)
    patients = DirectoryPatientSource()
    async with open_runtime(settings, model=model, patients=patients, graph_store=kg) as runtime:
        await ask(
            runtime.graph,
            patient_id=PATIENT,
            question=QUESTION,
            audit=runtime.audit,
            principal_id="u-a",
        )
    return receiver.spans()


async def test_a_round_is_exported_as_genai_spans(
    tmp_path: Path, kg: GraphStore, scripted_model: Any, receiver: Receiver
) -> None:
    spans = await exported_round(tmp_path, kg, scripted_model, receiver, content=False)
    assert set(receiver.paths) == {"/v1/traces"}
    by_id = {s.span_id: s for s in spans}
    names = [s.name for s in spans]
    [workflow] = [s for s in spans if s.name == "invoke_workflow ward_round"]
    assert workflow.parent_span_id == b""
    assert {s.trace_id for s in spans} == {workflow.trace_id}
    wf = attrs(workflow)
    assert (wf["gen_ai.operation.name"], wf["gen_ai.workflow.name"]) == (
        "invoke_workflow",
        "ward_round",
    )
    assert wf["gen_ai.conversation.id"].startswith("thread-")
    for agent in ("route", "history", "labs", "guideline", "synthesize"):
        assert f"invoke_agent {agent}" in names
    assert "load_record" in names
    # a specialist is a subgraph: tools (deterministic, KG) → model → report (findings)
    steps = {
        attrs(s).get("wardround.node.step"): s for s in spans if s.name == "invoke_agent guideline"
    }
    assert set(steps) == {"tools", "model", "report"}
    guideline = steps["tools"]
    assert all(s.parent_span_id == workflow.span_id for s in steps.values())
    assert attrs(guideline)["gen_ai.agent.name"] == "guideline"
    assert attrs(guideline)["gen_ai.provider.name"] == "openai"

    chats = [s for s in spans if s.name == "chat scripted"]
    assert len(chats) == 5  # router, three specialists, synthesizer
    for chat in chats:
        a = attrs(chat)
        assert a["gen_ai.operation.name"] == "chat"
        assert a["gen_ai.request.model"] == "scripted"
        assert a["gen_ai.usage.input_tokens"] > 0
        assert a["gen_ai.usage.output_tokens"] > 0
        assert "gen_ai.input.messages" not in a
        assert by_id[chat.parent_span_id].name.startswith("invoke_agent ")
        assert chat.kind == chat.SPAN_KIND_CLIENT
        assert chat.end_time_unix_nano >= chat.start_time_unix_nano

    queries = [s for s in spans if s.name.startswith("execute_tool kg.")]
    assert {"execute_tool kg.resolve_drugs", "execute_tool kg.interactions_among"} <= {
        q.name for q in queries
    }
    for query in queries:
        assert query.parent_span_id == guideline.span_id
        a = attrs(query)
        assert a["gen_ai.operation.name"] == "execute_tool"
        assert a["db.system.name"] == kg.backend
        assert a["db.response.returned_rows"] >= 0
    assert any(e.name == "finding.produced" for e in steps["report"].events)

    # nothing about the patient left the process
    record = await DirectoryPatientSource().load(PATIENT)
    sent = b"".join(receiver.bodies)
    secrets = [PATIENT, record.patient.name, QUESTION, *record.patient.identifiers]
    secrets += [n.text[:40] for n in record.notes if n.text]
    secrets += ["spironolactone"]  # KG parameters are not exported either
    assert record.notes, "the scenario should have note text to look for"
    for secret in filter(None, secrets):
        assert secret.encode() not in sent, secret


async def test_a_run_that_raises_is_exported_with_its_error(
    tmp_path: Path, kg: GraphStore, scripted_model: Any, receiver: Receiver
) -> None:
    """No answer, no ``request.answered``: the run's closing ``error`` event exports it, the
    workflow span in error with the exception's class (its message, which may name the patient,
    stays in the audit store)."""
    settings = Settings(data_dir=tmp_path, otel_endpoint=receiver.endpoint)
    _, model = scripted_model(guideline_model)
    patients = DirectoryPatientSource()
    missing = "patient-nowhere-77"
    async with open_runtime(settings, model=model, patients=patients, graph_store=kg) as runtime:
        with pytest.raises(RecordNotFound):
            await ask(runtime.graph, patient_id=missing, question=QUESTION, audit=runtime.audit)
    spans = receiver.spans()
    [workflow] = [s for s in spans if s.name == "invoke_workflow ward_round"]
    assert workflow.status.code == workflow.status.STATUS_CODE_ERROR
    assert attrs(workflow)["error.type"] == "RecordNotFound"
    [load] = [s for s in spans if s.name == "load_record"]
    assert attrs(load)["error.type"] == "RecordNotFound"
    assert missing.encode() not in b"".join(receiver.bodies)


async def test_content_is_exported_only_on_opt_in_and_redacted(
    tmp_path: Path, kg: GraphStore, scripted_model: Any, receiver: Receiver
) -> None:
    spans = await exported_round(tmp_path, kg, scripted_model, receiver, content=True)
    chats = [attrs(s) for s in spans if s.name == "chat scripted"]
    messages = " ".join(c["gen_ai.input.messages"] + c["gen_ai.output.messages"] for c in chats)
    assert "Role: guideline checker" in messages  # the content is there...
    assert "[REDACTED]'s potassium" in messages  # ...with the patient's id taken out
    sent = b"".join(receiver.bodies)
    record = await DirectoryPatientSource().load(PATIENT)
    for secret in filter(None, [PATIENT, record.patient.name, *record.patient.identifiers]):
        assert secret.encode() not in sent, secret


def test_no_endpoint_no_exporter(tmp_path: Path) -> None:
    store = AuditStore.open(f"sqlite:///{tmp_path / 'audit.sqlite'}")
    try:
        assert open_telemetry(Settings(data_dir=tmp_path), store) is None
    finally:
        store.close()
    assert traces_url("http://otel:4318/") == "http://otel:4318/v1/traces"
    assert traces_url("http://otel:4318/v1/traces") == "http://otel:4318/v1/traces"


def test_endpoint_without_the_extra_fails_at_startup(tmp_path: Path) -> None:
    # A fresh interpreter where the opentelemetry packages cannot be imported (as without the
    # extra), starting the runtime the server and CLI use.
    script = (
        "import asyncio, sys\n"
        "sys.modules['opentelemetry'] = None\n"
        "from core.settings import Settings\n"
        "from server.wiring import open_runtime\n"
        "async def main():\n"
        "    async with open_runtime(Settings(), use_model=False):\n"
        "        pass\n"
        "try:\n"
        "    asyncio.run(main())\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, exc)\n"
        "    sys.exit(3)\n"
    )
    env = {
        **os.environ,
        "WARDROUND_DATA_DIR": str(tmp_path),
        "WARDROUND_OTEL_ENDPOINT": "http://127.0.0.1:9/",
    }
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 3, done.stderr[-2000:]
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("TelemetryUnavailable WARDROUND_OTEL_ENDPOINT is set"), last
    assert "pip install 'wardround[otel]'" in last


async def test_the_runtime_exports_when_an_endpoint_is_configured(
    tmp_path: Path, receiver: Receiver
) -> None:
    settings = Settings(data_dir=tmp_path / "data", otel_endpoint=receiver.endpoint)
    curated_kg(settings.data_dir).close()
    async with open_runtime(settings, use_model=False) as runtime:
        result = await ask(
            runtime.graph, patient_id=PATIENT, question=QUESTION, audit=runtime.audit
        )
    # leaving the runtime shut the exporter down, which flushed every span
    spans = receiver.spans()
    [workflow] = [s for s in spans if s.name == "invoke_workflow ward_round"]
    assert attrs(workflow)["wardround.run_id"] == result.run_id
    assert "execute_tool kg.interactions_among" in {s.name for s in spans}
    assert not [s for s in spans if s.name.startswith("chat ")]  # no model configured
    assert PATIENT.encode() not in b"".join(receiver.bodies)
