"""Faults the transcript server can inject: a model server that misbehaves on purpose.

Each kind is one way a real OpenAI-compatible server has been seen to fail a caller (or could):
- ``delay``: sits on the request (before the headers, or before the first SSE event);
- ``status``: answers an HTTP error, optionally with ``Retry-After``;
- ``truncate``: a stream that stops halfway, without ``[DONE]``;
- ``invalid_json``: valid protocol, but the reply's *content* is broken JSON;
- ``invalid_body``: a 200 whose body is not JSON at all;
- ``truncated_body``: a 200 whose JSON body is cut off halfway;
- ``garbage_sse``: a stream whose second event is not JSON;
- ``stall_after_first``: a stream that sends one chunk, then nothing for ``delay_s``;
- ``enormous``: a reply whose content is ``size`` characters long;
- ``unknown_tool``: a tool call to a tool nobody offered.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

from starlette.responses import Response, StreamingResponse

FaultKind = Literal[
    "delay",
    "status",
    "truncate",
    "invalid_json",
    "invalid_body",
    "truncated_body",
    "garbage_sse",
    "stall_after_first",
    "enormous",
    "unknown_tool",
]
UNKNOWN_TOOL = "drop_all_orders"
"""The tool an ``unknown_tool`` fault calls: no agent offers it."""


@dataclass
class Fault:
    """One injected misbehaviour, applied to the next ``times`` chat requests."""

    kind: FaultKind
    times: int = 1
    delay_s: float = 0.0
    status: int = 500
    retry_after: float | None = None
    size: int = 5_000_000


def broken_body(fault: Fault | None, completion: dict[str, Any]) -> Response | None:
    """A 200 whose body is not a usable JSON completion, for the body-breaking kinds."""
    if fault is None or fault.kind not in ("invalid_body", "truncated_body"):
        return None
    if fault.kind == "invalid_body":
        return Response(b"<html>502 Bad Gateway</html>{", media_type="application/json")
    whole = json.dumps(completion).encode()

    async def half() -> AsyncIterator[bytes]:  # no Content-Length: the body just ends early
        yield whole[: len(whole) // 2]

    return StreamingResponse(half(), media_type="application/json")


def altered_completion(fault: Fault | None, completion: dict[str, Any]) -> dict[str, Any]:
    """The completion as the content-breaking kinds send it."""
    if fault is None or fault.kind not in ("invalid_json", "enormous", "unknown_tool"):
        return completion
    bad: dict[str, Any] = json.loads(json.dumps(completion))
    message = bad["choices"][0]["message"]
    message.pop("tool_calls", None)
    bad["choices"][0]["finish_reason"] = "stop"
    if fault.kind == "invalid_json":
        message["content"] = '{"answer": "unterminated'
    elif fault.kind == "enormous":
        message["content"] = '{"answer": "' + "A" * fault.size + '"}'
    else:
        message["content"] = None
        message["tool_calls"] = [
            {
                "id": "call_unknown",
                "type": "function",
                "function": {"name": UNKNOWN_TOOL, "arguments": '{"ward": "*"}'},
            }
        ]
        bad["choices"][0]["finish_reason"] = "tool_calls"
    return bad


def fault_chunks(fault: Fault | None, completion: dict[str, Any]) -> list[dict[str, Any]]:
    """The SSE chunks for an altered completion: an enormous reply comes in 8 KB pieces (a
    real server floods that fast); the others are split as usual (empty: the default)."""
    if fault is None or fault.kind != "enormous":
        return []
    base = {k: completion.get(k) for k in ("id", "created", "model")}
    base["object"] = "chat.completion.chunk"
    content = completion["choices"][0]["message"]["content"]
    deltas = [{"content": content[i : i + 8192]} for i in range(0, len(content), 8192)]
    chunks = [{**base, "choices": [{"index": 0, "delta": delta}]} for delta in deltas]
    finish = {"index": 0, "delta": {}, "finish_reason": "stop"}
    return [*chunks, {**base, "choices": [finish]}]


async def sse_events(chunks: list[dict[str, Any]], fault: Fault | None) -> AsyncIterator[bytes]:
    """The SSE body for ``chunks``, broken as ``fault`` says."""
    kind = fault.kind if fault is not None else None
    if kind == "delay" and fault is not None:
        await asyncio.sleep(fault.delay_s)
    sent = chunks[: max(1, len(chunks) // 2)] if kind == "truncate" else chunks
    for number, chunk in enumerate(sent):
        if number == 1 and kind == "garbage_sse":
            yield b"data: {this is not json\n\n"
        if number == 1 and kind == "stall_after_first" and fault is not None:
            await asyncio.sleep(fault.delay_s)
        yield f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode()
    if kind != "truncate":
        yield b"data: [DONE]\n\n"
