"""Model faults in a whole ward round: ``wardround ask`` (a subprocess, as a person runs it) and
the server (``open_runtime`` from settings, as ``wardround serve`` builds it) both end every
fault in a degraded answer within the round's deadline: exit 0 / HTTP 200, the deterministic
findings kept, the reason named, no traceback.

The model is the transcript server on a real loopback port, breaking the OpenAI protocol on
purpose (``core.model.faults``) for every call of the round.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.model.faults import Fault
from core.model.serving import RunningServer
from core.model.transcript_server import TranscriptServer
from core.settings import Settings
from server.app import create_app
from server.auth import Principal, TokenStore
from server.wiring import open_runtime
from tests.server.conftest import OWN, sse_events, ward_model

ALWAYS = 1000
DEADLINE_S = 8.0
MODEL_ENV = {
    "WARDROUND_MODEL_NAME": "scripted",
    "WARDROUND_ROUND_DEADLINE_S": str(DEADLINE_S),
    "WARDROUND_MODEL_CONNECT_TIMEOUT_S": "1",
    "WARDROUND_MODEL_FIRST_TOKEN_TIMEOUT_S": "1",
    "WARDROUND_MODEL_TOTAL_TIMEOUT_S": "3",
    "WARDROUND_MODEL_MAX_RETRIES": "1",
}
FAULTS = {
    "invalid JSON body": Fault("invalid_body", ALWAYS),
    "truncated JSON body": Fault("truncated_body", ALWAYS),
    "garbage SSE line": Fault("garbage_sse", ALWAYS),
    "hang before the first token": Fault("delay", ALWAYS, delay_s=5),
    "hang after the first token": Fault("stall_after_first", ALWAYS, delay_s=5),
    "5xx": Fault("status", ALWAYS, status=503),
    "429 with Retry-After": Fault("status", ALWAYS, status=429, retry_after=0.2),
    "enormous reply": Fault("enormous", ALWAYS, size=1_000_000),
    "unknown tool": Fault("unknown_tool", ALWAYS),
}
CLI_FAULTS = [
    "invalid JSON body",
    "truncated JSON body",
    "garbage SSE line",
    "hang before the first token",
]


@pytest.fixture
def model() -> Iterator[tuple[TranscriptServer, RunningServer]]:
    server = TranscriptServer(script=ward_model, model_name="scripted")
    with server.serve() as running:
        yield server, running


def wardround(data_dir: Path, model_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        **MODEL_ENV,
        "WARDROUND_DATA_DIR": str(data_dir),
        "WARDROUND_MODEL_BASE_URL": model_url,
    }
    return subprocess.run(
        [sys.executable, "-c", "from server.cli import main; main()", *args],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def assert_degraded_with_findings(result: dict[str, Any]) -> None:
    assert result["degraded"] is True
    assert result["degraded_reasons"]
    # the deterministic findings reach the answer whatever the model did (KDIGO AKI stage)
    assert any("aki" in json.dumps(f).lower() for f in result["findings"])


@pytest.mark.parametrize("name", CLI_FAULTS)
def test_ask_degrades_on_a_model_fault(
    name: str, model: tuple[TranscriptServer, RunningServer], tmp_path: Path
) -> None:
    server, running = model
    server.inject(FAULTS[name])
    started = time.monotonic()
    done = wardround(tmp_path, running.url + "/v1", "ask", "--patient", OWN, "--json", "Why?")
    took = time.monotonic() - started
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    assert_degraded_with_findings(json.loads(done.stdout))
    # the deadline plus a process start (imports, the record, the audit store: 20-30 s on a
    # busy CI machine)
    assert took < DEADLINE_S + 45, f"{name}: {took:.1f} s"


@pytest.fixture
async def ward(
    model: tuple[TranscriptServer, RunningServer], tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str], TranscriptServer]]:
    settings = Settings(
        data_dir=tmp_path / "data",
        tokens_file=tmp_path / "tokens.json",
        model_base_url=model[1].url + "/v1",
        **{k.removeprefix("WARDROUND_").lower(): v for k, v in MODEL_ENV.items()},
    )
    token = TokenStore(settings.tokens_file).add(
        Principal(id="u-a", name="Dr A", role="clinician", wards=("7B", "5A"))
    )
    async with open_runtime(settings) as runtime:
        app = create_app(runtime, settings)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://testserver", timeout=60
            ) as http,
        ):
            yield http, {"Authorization": f"Bearer {token}"}, model[0]


@pytest.mark.parametrize("name", list(FAULTS))
async def test_the_server_degrades_on_a_model_fault(
    name: str, ward: tuple[httpx.AsyncClient, dict[str, str], TranscriptServer]
) -> None:
    http, auth, server = ward
    opened = await http.post("/v1/threads", json={"patient_id": OWN}, headers=auth)
    assert opened.status_code == 201, opened.text
    server.inject(FAULTS[name])
    started = time.monotonic()
    response = await http.post(  # SSE, as the ward's page asks: the synthesis streams
        f"/v1/threads/{opened.json()['id']}/messages", json={"content": "Why?"}, headers=auth
    )
    took = time.monotonic() - started
    assert response.status_code == 200, response.text[:2000]
    events = sse_events(response.text)
    assert [event for event, _ in events][-2:] == ["answer", "done"], response.text[-2000:]
    assert_degraded_with_findings(dict(events)["answer"]["result"])
    assert took < DEADLINE_S + 2, f"{name}: {took:.1f} s"
