"""The model client against the transcript server: retries, timeouts, errors, accounting."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from core.errors import (
    ModelRateLimited,
    ModelRequestRejected,
    ModelServerError,
    ModelTimeout,
    ModelUnavailable,
)
from core.model.client import ModelClient
from core.model.replies import Reply
from core.model.serving import free_port
from core.model.transcript_server import Fault
from core.model.types import ModelCall, ModelConfig, metered

MSG = [{"role": "user", "content": "Is the potassium high?"}]


def echo(body: dict[str, Any]) -> Reply:
    return Reply.text("echo: " + body["messages"][-1]["content"])


async def test_chat_round_trip_counts_tokens_and_notifies_observers(scripted_model) -> None:
    server, client = scripted_model(echo)
    seen: list[ModelCall] = []
    client.observers.append(seen.append)
    with metered() as usage:
        reply = await client.chat(MSG, max_tokens=20)
    assert reply.choices[0].message.content == "echo: Is the potassium high?"
    assert usage.calls == 1
    assert usage.prompt_tokens == reply.usage.prompt_tokens > 0
    assert usage.completion_tokens == reply.usage.completion_tokens > 0
    assert server.requests[0]["max_tokens"] == 20
    assert seen[0].request == {"model": "scripted", "messages": MSG, "max_tokens": 20}
    assert seen[0].response is not None
    assert seen[0].error is None


async def test_5xx_is_retried_with_growing_jittered_backoff(scripted_model, no_sleep) -> None:
    server, client = scripted_model(echo, max_retries=3, backoff_base_s=1.0)
    server.inject(Fault("status", status=503, times=2))
    reply = await client.chat(MSG)
    assert reply.choices[0].message.content.startswith("echo:")
    assert len(server.requests) == 3
    # equal jitter: attempt n waits in [base*2^(n-1)/2, base*2^(n-1)]
    assert 0.5 <= no_sleep.delays[0] <= 1.0
    assert 1.0 <= no_sleep.delays[1] <= 2.0


async def test_persistent_5xx_ends_in_typed_error_after_bounded_attempts(scripted_model) -> None:
    server, client = scripted_model(echo, max_retries=2)
    server.inject(Fault("status", status=500, times=10))
    with pytest.raises(ModelServerError, match=r"500.*after 3 attempts") as info:
        await client.chat(MSG)
    assert info.value.status_code == 500
    assert len(server.requests) == 3


async def test_429_honours_retry_after(scripted_model, no_sleep) -> None:
    server, client = scripted_model(echo)
    server.inject(Fault("status", status=429, retry_after=1.5))
    await client.chat(MSG)
    assert no_sleep.delays == [1.5]


async def test_429_forever_is_rate_limited(scripted_model) -> None:
    server, client = scripted_model(echo, max_retries=1)
    server.inject(Fault("status", status=429, retry_after=0, times=5))
    with pytest.raises(ModelRateLimited, match="rate limiting"):
        await client.chat(MSG)


async def test_retry_after_beyond_limit_gives_up_at_once(scripted_model) -> None:
    server, client = scripted_model(echo, retry_after_max_s=10)
    server.inject(Fault("status", status=429, retry_after=120))
    with pytest.raises(ModelUnavailable, match="wait 120 s"):
        await client.chat(MSG)
    assert len(server.requests) == 1


async def test_4xx_is_not_retried(scripted_model) -> None:
    server, client = scripted_model(echo)
    server.inject(Fault("status", status=400))
    with pytest.raises(ModelRequestRejected, match="400"):
        await client.chat(MSG)
    assert len(server.requests) == 1


async def test_total_timeout_raises_model_timeout(scripted_model) -> None:
    server, client = scripted_model(echo, total_timeout_s=0.2)
    server.inject(Fault("delay", delay_s=2.0))
    with pytest.raises(ModelTimeout, match="did not answer"):
        await client.chat(MSG)


async def test_connection_refused_is_retried_then_unavailable(no_sleep) -> None:
    port = free_port()  # nothing listens there
    cfg = ModelConfig(base_url=f"http://127.0.0.1:{port}/v1", model="m", max_retries=2)
    async with ModelClient(cfg, sleep=no_sleep) as client:
        with pytest.raises(ModelUnavailable, match=r"could not reach.*after 3 attempts"):
            await client.chat(MSG)
    assert len(no_sleep.delays) == 2


async def test_concurrency_limit_is_respected(scripted_model) -> None:
    in_flight = 0
    peak = 0

    async def slow(body: dict[str, Any]) -> Reply:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.05)
        in_flight -= 1
        return Reply.text("ok")

    _, client = scripted_model(slow, max_concurrency=2)
    await asyncio.gather(*(client.chat(MSG) for _ in range(6)))
    assert peak == 2


async def test_tokens_are_metered_per_scope(scripted_model) -> None:
    _, client = scripted_model(echo)
    with metered() as outer:
        with metered() as inner:
            await client.chat(MSG)
        await client.chat(MSG)
    assert inner.calls == 1
    assert outer.calls == 2
