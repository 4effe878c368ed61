"""Streaming over a real HTTP socket: first-token and total timeouts, truncated streams."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from core.errors import ModelTimeout, StreamInterrupted
from core.model.client import ModelClient
from core.model.replies import Reply
from core.model.serving import RunningServer
from core.model.transcript_server import Fault, TranscriptServer
from core.model.types import ModelCall, ModelConfig, metered

MSG = [{"role": "user", "content": "Summarise the admission."}]
TEXT = "Admitted with pneumonia; lactate 4.1 mmol/L; started on piperacillin-tazobactam."


@pytest.fixture
def served() -> Iterator[tuple[TranscriptServer, RunningServer]]:
    server = TranscriptServer(script=lambda body: Reply.text(TEXT))
    with server.serve() as running:
        yield server, running


@pytest.fixture
async def client(served: tuple[TranscriptServer, RunningServer]) -> AsyncIterator[ModelClient]:
    _, running = served
    cfg = ModelConfig(
        base_url=running.url + "/v1", model="m", first_token_timeout_s=0.5, total_timeout_s=5
    )
    async with ModelClient(cfg) as c:
        yield c


async def collect(client: ModelClient) -> str:
    return "".join([piece async for piece in client.stream(MSG)])


async def test_stream_yields_the_whole_reply_and_counts_usage(client: ModelClient) -> None:
    seen: list[ModelCall] = []
    client.observers.append(seen.append)
    with metered() as usage:
        assert await collect(client) == TEXT
    assert usage.calls == 1
    assert usage.completion_tokens > 0
    assert len(seen[0].chunks) > 3  # really streamed in pieces
    assert seen[0].request["stream"] is True


async def test_first_token_timeout(served: Any, client: ModelClient) -> None:
    served[0].inject(Fault("delay", delay_s=2.0))
    with pytest.raises(ModelTimeout, match="first token"):
        await collect(client)


async def test_truncated_stream_is_interrupted_not_silently_short(
    served: Any, client: ModelClient
) -> None:
    served[0].inject(Fault("truncate"))
    with pytest.raises(StreamInterrupted, match="ended before"):
        await collect(client)


async def test_stream_retries_a_5xx_before_the_first_chunk(
    served: Any, client: ModelClient
) -> None:
    served[0].inject(Fault("status", status=502))
    client._sleep = _no_wait
    assert await collect(client) == TEXT
    assert len(served[0].requests) == 2


async def _no_wait(_seconds: float) -> None:
    return None
