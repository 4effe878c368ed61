"""Audit hooks for a ward round: the run's ``Recorder`` travels in a context variable.

``graphs.run.ask`` binds a recorder for the run; graph nodes, specialists and the model client's
observer find it here. Context variables follow asyncio tasks, so parallel specialists (and
concurrent runs in the server) each write to their own run. Without a recorder every hook is a
no-op: tests and tools can run the graph without an audit store.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from typing import Any

from core.audit import EventKind, Recorder, Step
from core.model.types import ModelCall

_recorder: ContextVar[Recorder | None] = ContextVar("wardround_run_recorder", default=None)


@contextmanager
def recording(recorder: Recorder | None) -> Iterator[None]:
    token = _recorder.set(recorder)
    try:
        yield
    finally:
        _recorder.reset(token)


@asynccontextmanager
async def audited_node(name: str) -> AsyncIterator[Step | None]:
    recorder = _recorder.get()
    if recorder is None:
        yield None
        return
    async with recorder.node(name) as step:
        yield step


async def emit(kind: EventKind, payload: dict[str, Any]) -> None:
    recorder = _recorder.get()
    if recorder is not None:
        await recorder.emit(kind, payload)


def record_model_call(call: ModelCall) -> Awaitable[str] | None:
    """A ``ModelClient`` observer: every call, with its full request and response, audited."""
    recorder = _recorder.get()
    if recorder is None:
        return None
    payload: dict[str, Any] = {
        "request": call.request,
        "response": call.response,
        "chunks": len(call.chunks),
        "usage": call.usage,
        "attempts": call.attempts,
        "error": call.error,
    }
    return recorder.emit(EventKind.MODEL_CALL, payload, duration_ms=call.duration_ms)
