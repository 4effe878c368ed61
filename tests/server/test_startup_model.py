"""``wardround serve`` never waits on the model: with a model that hangs on every request (even
``GET /v1/models``) or answers every request with a 200 that is not JSON, the server starts,
``/healthz`` answers, and ``/readyz`` says the model is unavailable while the rest is ready.
Its log names no patient: the access log goes by route template.

The server is a real subprocess, as a ward runs it; the model a real HTTP server on loopback.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from core.model.serving import RunningServer, free_port
from core.settings import Settings
from server.auth import Principal, TokenStore, tokens_path
from server.wiring import STARTUP_PROBE_S

STARTED_WITHIN_S = STARTUP_PROBE_S + 40  # the probe's bound plus a process start on a busy CI


def broken_model(kind: str) -> Starlette:
    """``hang``: every request waits until the caller gives up. ``invalid JSON``: the model list
    is fine, every chat completion is a 200 that is not JSON (what crashed start-up before)."""

    async def models(request: Request) -> Response:
        if kind == "hang":
            return await hang(request)
        return JSONResponse({"object": "list", "data": [{"id": "m", "object": "model"}]})

    async def chat(request: Request) -> Response:
        if kind == "hang":
            return await hang(request)
        return Response(b"<html>502 Bad Gateway</html>{", media_type="application/json")

    return Starlette(
        routes=[
            Route("/v1/models", models, methods=["GET"]),
            Route("/v1/chat/completions", chat, methods=["POST"]),
        ]
    )


async def hang(request: Request) -> Response:
    while not await request.is_disconnected():  # noqa: ASYNC110 - starlette has no disconnect event
        await asyncio.sleep(0.2)
    return Response(status_code=499)


@pytest.fixture(params=["hang", "invalid JSON"])
def model_url(request: pytest.FixtureRequest) -> Iterator[str]:
    with RunningServer.start(broken_model(request.param)) as running:
        yield running.url + "/v1"


def test_serve_starts_and_says_the_model_is_unavailable(model_url: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    token = TokenStore(tokens_path(settings)).add(Principal(id="u-adm", name="A", role="admin"))
    port = free_port()
    env = {
        **os.environ,
        "WARDROUND_DATA_DIR": str(tmp_path),
        "WARDROUND_MODEL_BASE_URL": model_url,
    }
    started = time.monotonic()
    server = subprocess.Popen(
        [sys.executable, "-c", "from server.cli import main; main()",
         "--verbose", "serve", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        health = _first_answer(f"http://127.0.0.1:{port}/healthz", server)
        took = time.monotonic() - started
        assert health.status_code == 200
        assert took < STARTED_WITHIN_S, f"/healthz first answered after {took:.1f} s"
        ready = httpx.get(
            f"http://127.0.0.1:{port}/readyz",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        checks = ready.json()["checks"]
        assert checks["model"]["ok"] is False
        assert checks["db"]["ok"] is True
        assert checks["records"]["ok"] is True
        assert ready.status_code == 200  # a missing model degrades rounds; it is not unready
        # no patient id in the access log: requests are logged by route template
        httpx.get(
            f"http://127.0.0.1:{port}/v1/audit/runs",
            params={"patient": "pt-secret-4711"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert "Traceback" not in output
    assert "route=/v1/audit/runs" in output or '"route": "/v1/audit/runs"' in output
    assert "pt-secret-4711" not in output


def _first_answer(url: str, server: subprocess.Popen[str]) -> httpx.Response:
    deadline = time.monotonic() + STARTED_WITHIN_S + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            output, _ = server.communicate()
            pytest.fail(f"wardround serve exited with {server.returncode}: {output[-3000:]}")
        try:
            return httpx.get(url, timeout=1)
        except httpx.TransportError:
            time.sleep(0.2)
    pytest.fail(f"no answer from {url}")
