"""The transcript server: an OpenAI-protocol model that answers from a transcript or a script.

It implements ``POST /v1/chat/completions`` (JSON and SSE streaming, tools, ``response_format``)
and ``GET /v1/models``. Answers come from (a) a transcript file, matched on the normalized request
body, or (b) a Python function computing the reply from the request. An unmatched request gets
HTTP 409 with a diff against the nearest recorded request. Faults (``core.model.faults``: delays,
429, 5xx, broken bodies and streams, enormous replies, unknown tools) can be injected on demand,
from Python or over ``POST /_transcript/faults``.

It emulates a server *profile* (``ModelCapabilities``): by default a vLLM-like endpoint with tools
and OpenAI ``json_schema``; with ``structured="json_object_schema"`` it answers OpenAI's shape with
HTTP 500, exactly as llama-cpp-python's server does. Capability probes are answered from the
profile, so scripts and transcripts never contain them.

It runs in-process (``http_client()``, over httpx's ASGI transport) or as a real HTTP server
(``serve()`` / ``wardround model replay FILE --port N``). The real ``openai`` client is always
the caller.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from core.model.faults import (
    Fault,
    FaultKind,
    altered_completion,
    broken_body,
    fault_chunks,
    sse_events,
)
from core.model.probe import PROBE_MARKER
from core.model.replies import (
    Reply,
    chunks_from_completion,
    completion_from_chunks,
    completion_from_reply,
)
from core.model.serving import RunningServer
from core.model.transcript import RecordedCall, TranscriptIndex, read_transcript
from core.model.types import ModelCapabilities

__all__ = ["Fault", "FaultKind", "Script", "TranscriptServer"]

Script = Callable[[dict[str, Any]], Reply | dict[str, Any] | Awaitable[Reply | dict[str, Any]]]


class TranscriptServer:
    def __init__(
        self,
        *,
        transcript: Path | None = None,
        script: Script | None = None,
        profile: ModelCapabilities | None = None,
        model_name: str = "transcript",
    ) -> None:
        if (transcript is None) == (script is None):
            raise ValueError("give exactly one of transcript= or script=")
        self.profile = profile or ModelCapabilities.full()
        self.model_name = model_name
        self.header: dict[str, Any] = {}
        self._index: TranscriptIndex | None = None
        if transcript is not None:
            self.header, calls = read_transcript(transcript)
            self._index = TranscriptIndex(calls)
        self._script = script
        self._faults: list[Fault] = []
        self.requests: list[dict[str, Any]] = []
        """Every chat request body received (probes excluded), for test assertions."""
        self.misses = 0
        self.app = Starlette(
            routes=[
                Route("/v1/models", self._models, methods=["GET"]),
                Route("/v1/chat/completions", self._chat, methods=["POST"]),
                Route("/_transcript/faults", self._add_fault, methods=["POST"]),
                Route("/_transcript/stats", self._stats, methods=["GET"]),
            ]
        )

    # --- control --------------------------------------------------------------------------------

    def inject(self, fault: Fault) -> None:
        self._faults.append(fault)

    def http_client(self) -> httpx.AsyncClient:
        """An httpx client wired to this app in-process (no socket)."""
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://transcript.invalid"
        )

    base_url_inprocess = "http://transcript.invalid/v1"

    def _next_fault(self) -> Fault | None:
        if not self._faults:
            return None
        fault = self._faults[0]
        fault.times -= 1
        if fault.times <= 0:
            self._faults.pop(0)
        return fault

    # --- routes ---------------------------------------------------------------------------------

    async def _models(self, _request: Request) -> Response:
        return JSONResponse(
            {
                "object": "list",
                "data": [{"id": self.model_name, "object": "model", "owned_by": "wardround"}],
            }
        )

    async def _stats(self, _request: Request) -> Response:
        unused = len(self._index.unused()) if self._index else 0
        return JSONResponse(
            {"requests": len(self.requests), "misses": self.misses, "unused": unused}
        )

    async def _add_fault(self, request: Request) -> Response:
        try:
            self.inject(Fault(**await request.json()))
        except (TypeError, ValueError) as err:
            return _problem(422, "invalid fault", str(err))
        return JSONResponse({"queued": len(self._faults)})

    async def _chat(self, request: Request) -> Response:
        body = await _read_body(request)
        if isinstance(body, Response):
            return body
        early = _probe_reply(body, self.profile) or self._profile_rejects(body)
        if early is not None:
            return early
        self.requests.append(body)
        fault = self._next_fault()
        if fault is not None and fault.kind == "status":
            headers = (
                {"retry-after": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
            )
            return _problem(fault.status, f"injected {fault.status}", "fault injection", headers)
        if fault is not None and fault.kind == "delay" and not body.get("stream"):
            await asyncio.sleep(fault.delay_s)
        answer = await self._answer(body)
        if isinstance(answer, Response):
            return answer
        completion, chunks = answer
        altered = altered_completion(fault, completion)
        if altered is not completion:
            completion, chunks = altered, fault_chunks(fault, altered)
        if body.get("stream"):
            return self._stream(body, completion, chunks, fault)
        return broken_body(fault, completion) or JSONResponse(completion)

    def _profile_rejects(self, body: dict[str, Any]) -> Response | None:
        fmt = body.get("response_format") or {}
        if fmt.get("type") == "json_schema" and self.profile.structured != "json_schema":
            # what llama-cpp-python's server does with OpenAI's json_schema shape (measured)
            return _problem(500, "unsupported response_format", "json_schema is not supported")
        return None

    async def _answer(
        self, body: dict[str, Any]
    ) -> Response | tuple[dict[str, Any], list[dict[str, Any]]]:
        seq = len(self.requests)
        if self._script is not None:
            reply = self._script(body)
            if inspect.isawaitable(reply):
                reply = await reply
            if isinstance(reply, Reply):
                return completion_from_reply(reply, body, seq=seq), []
            return reply, []
        assert self._index is not None
        recorded = self._index.take(body)
        if recorded is None:
            self.misses += 1
            return _problem(
                409,
                "request not in transcript",
                "no recorded call matches this request (transcript mismatch); nearest:\n"
                + self._index.explain_miss(body),
            )
        return _recorded_answer(recorded)

    def _stream(
        self,
        body: dict[str, Any],
        completion: dict[str, Any],
        chunks: list[dict[str, Any]],
        fault: Fault | None,
    ) -> StreamingResponse:
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        chunks = chunks or chunks_from_completion(completion, include_usage=include_usage)
        return StreamingResponse(sse_events(chunks, fault), media_type="text/event-stream")

    # --- real server ----------------------------------------------------------------------------

    def serve(self, *, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
        """Start a real HTTP server (uvicorn) in a background thread; stop it with ``.stop()``."""
        return RunningServer.start(self.app, host=host, port=port)


def _recorded_answer(call: RecordedCall) -> Response | tuple[dict[str, Any], list[dict[str, Any]]]:
    if call.status != 200:
        return _problem(call.status, "recorded error", call.error or "")
    if call.response is None and not call.chunks:
        return _problem(500, "empty recording", f"transcript line {call.line} has no response")
    completion = call.response or completion_from_chunks(call.chunks)
    return completion, call.chunks


async def _read_body(request: Request) -> dict[str, Any] | Response:
    try:
        body = await request.json()
    except ValueError:
        return _problem(400, "invalid JSON body", "the request body is not JSON")
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        return _problem(400, "invalid request", "'messages' must be a list")
    return body


def _probe_reply(body: dict[str, Any], profile: ModelCapabilities) -> Response | None:
    first = body["messages"][0] if body["messages"] else {}
    content = first.get("content") if isinstance(first, dict) else None
    if not isinstance(content, str) or not content.startswith(PROBE_MARKER):
        return None
    task = content.split(":", 1)[1].strip()
    if task == "tools":
        reply = Reply.tool("probe_echo", {"ok": True}) if profile.tools else Reply.text("ok")
        return JSONResponse(completion_from_reply(reply, body, seq=0))
    order = ["json_schema", "json_object_schema", "json_object"]
    supported = profile.structured in order and order.index(task) >= order.index(profile.structured)
    if not supported:
        return _problem(500, "unsupported response_format", f"{task} is not supported")
    return JSONResponse(completion_from_reply(Reply.json({"ok": True}), body, seq=0))


def _problem(
    status: int, title: str, detail: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {
            "error": {
                "message": f"{title}: {detail}",
                "type": title.replace(" ", "_"),
                "code": status,
            }
        },
        status_code=status,
        headers=headers,
    )
