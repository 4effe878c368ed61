"""Model faults over a real socket: every way a model server can fail ends, in bounded time, in
either an answer after a bounded retry or a typed ``ModelError`` (which a round turns into a
degraded answer). Nothing else escapes: no ``JSONDecodeError``, no ``AttributeError``.

The model is the transcript server as a real HTTP server on a loopback port, breaking the OpenAI
protocol on purpose (``core.model.faults``); the caller is the real ``openai`` client.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import BaseModel

from core.errors import (
    ModelError,
    ModelRateLimited,
    ModelReplyMalformed,
    ModelServerError,
    ModelTimeout,
    ModelUnavailable,
)
from core.model.client import ModelClient
from core.model.faults import UNKNOWN_TOOL, Fault
from core.model.replies import Reply
from core.model.serving import RunningServer, free_port
from core.model.structured import Preview, structured
from core.model.tools import Tool, run_tools
from core.model.transcript_server import TranscriptServer
from core.model.types import ModelConfig

MSG = [{"role": "user", "content": "Is the potassium of 6.1 mmol/L on ramipril a concern?"}]
ALWAYS = 1000  # a fault that lasts for the whole test


class Note(BaseModel):
    answer: str


def note_model(body: dict[str, Any]) -> Reply:
    asked = [m for m in body["messages"] if m.get("role") == "tool"]
    if body.get("tools") and not any(m.get("tool_call_id") != "call_unknown" for m in asked):
        return Reply.tool("potassium", {})
    return Reply.json({"answer": "Potassium 6.1 mmol/L: recheck and review ramipril."})


@pytest.fixture
def model_server() -> Iterator[tuple[TranscriptServer, RunningServer]]:
    server = TranscriptServer(script=note_model)
    with server.serve() as running:
        yield server, running


def config(url: str) -> ModelConfig:
    """Short bounds so that each fault ends in well under a second or two."""
    return ModelConfig(
        base_url=url,
        model="m",
        connect_timeout_s=0.5,
        first_token_timeout_s=0.5,
        total_timeout_s=2.0,
        max_retries=2,
        backoff_base_s=0.01,
        backoff_max_s=0.05,
        retry_after_max_s=1.0,
        max_reply_chars=100_000,
        probe_timeout_s=30.0,  # the probe is not under test (probes are never faulted here)
    )


@pytest.fixture
async def client(
    model_server: tuple[TranscriptServer, RunningServer],
) -> AsyncIterator[ModelClient]:
    async with ModelClient(config(model_server[1].url + "/v1")) as c:
        yield c


@dataclass(frozen=True)
class Case:
    fault: Fault
    stream: bool
    outcome: type[ModelError] | tuple[type[ModelError], ...] | None
    """The typed error it ends in; ``None``: an answer, after a bounded retry."""
    within_s: float


CASES = {
    "timeout (no headers)": Case(Fault("delay", ALWAYS, delay_s=5), False, ModelTimeout, 1.5),
    "5xx once, then an answer": Case(Fault("status", 1, status=502), False, None, 1.0),
    "5xx every time": Case(Fault("status", ALWAYS, status=503), False, ModelServerError, 1.5),
    "429 with Retry-After 0.3 s": Case(
        Fault("status", 1, status=429, retry_after=0.3), False, None, 1.5
    ),
    "429 asking for 60 s": Case(
        Fault("status", ALWAYS, status=429, retry_after=60), False, ModelUnavailable, 1.0
    ),
    "429 every time": Case(
        Fault("status", ALWAYS, status=429, retry_after=0.05), False, ModelRateLimited, 1.5
    ),
    "hang before the first token": Case(Fault("delay", ALWAYS, delay_s=5), True, ModelTimeout, 1.5),
    "hang after the first token": Case(
        Fault("stall_after_first", ALWAYS, delay_s=5), True, ModelTimeout, 3.0
    ),
    "200 with an invalid JSON body": Case(
        Fault("invalid_body", ALWAYS), False, ModelReplyMalformed, 1.5
    ),
    "200 with an invalid body once": Case(Fault("invalid_body", 1), False, None, 1.0),
    "200 with a truncated JSON body": Case(
        Fault("truncated_body", ALWAYS), False, ModelReplyMalformed, 1.5
    ),
    "garbage SSE line": Case(Fault("garbage_sse", ALWAYS), True, ModelReplyMalformed, 1.5),
    # 5 MB to read: refused at 100,000 characters, or cut off by the 2 s total timeout first
    # when the machine is busy (both end the call, typed, in bounded time)
    "enormous reply": Case(
        Fault("enormous", ALWAYS), False, (ModelReplyMalformed, ModelTimeout), 5.0
    ),
    "enormous streamed reply": Case(
        Fault("enormous", ALWAYS), True, (ModelReplyMalformed, ModelTimeout), 5.0
    ),
}


async def ask(client: ModelClient, stream: bool) -> Note:
    preview = Preview("answer", on_text=lambda _text: None) if stream else None
    return await structured(client, MSG, Note, name="note", preview=preview)


@pytest.mark.parametrize("name", list(CASES))
async def test_each_fault_ends_in_an_answer_or_a_typed_error_in_time(
    name: str, model_server: tuple[TranscriptServer, RunningServer], client: ModelClient
) -> None:
    case = CASES[name]
    await client.capabilities()  # probes are answered from the profile, never faulted
    model_server[0].inject(case.fault)
    started = time.monotonic()
    if case.outcome is None:
        assert (await ask(client, case.stream)).answer.startswith("Potassium 6.1")
    else:
        with pytest.raises(case.outcome):
            await ask(client, case.stream)
    took = time.monotonic() - started
    assert took < case.within_s, f"{name} took {took:.2f} s"
    # a bounded retry: never more than max_retries + 1 attempts per call, and one repair call
    assert len(model_server[0].requests) <= 2 * (client.config.max_retries + 1)


async def test_refused_connection_is_unavailable_after_bounded_retries() -> None:
    async with ModelClient(config(f"http://127.0.0.1:{free_port()}/v1")) as client:
        started = time.monotonic()
        with pytest.raises(ModelUnavailable):
            await ask(client, stream=False)
        assert time.monotonic() - started < 1.5


async def test_a_retry_after_is_honoured(
    model_server: tuple[TranscriptServer, RunningServer], client: ModelClient
) -> None:
    model_server[0].inject(Fault("status", 1, status=429, retry_after=0.3))
    started = time.monotonic()
    await ask(client, stream=False)
    assert time.monotonic() - started >= 0.3


async def test_an_unknown_tool_is_refused_to_the_model_and_the_loop_ends(
    model_server: tuple[TranscriptServer, RunningServer], client: ModelClient
) -> None:
    server = model_server[0]
    server.inject(Fault("unknown_tool", times=2))
    seen: list[str] = []

    class Nothing(BaseModel):
        pass

    def potassium(_args: Nothing) -> dict[str, float]:
        seen.append("potassium")
        return {"potassium_mmol_l": 6.1}

    tool = Tool("potassium", "The latest potassium.", Nothing, potassium)
    started = time.monotonic()
    result = await run_tools(client, MSG, [tool], max_steps=4)
    assert time.monotonic() - started < 2.0
    refused = [r for r in result.calls if r.name == UNKNOWN_TOOL]
    assert len(refused) == 2
    assert all("unknown tool" in (r.error or "") for r in refused)
    assert seen == ["potassium"]  # the real tool still ran once the faults were spent
    assert "Potassium 6.1" in result.final_text
