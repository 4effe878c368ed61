"""Server logs carry no question, answer or raw patient id (those live in the audit store)."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
import structlog

from core.logging import configure_logging
from tests.server.conftest import OTHER, OWN, Server


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging(level="DEBUG", fmt="json", stream=stream)
    yield stream
    structlog.reset_defaults()


async def test_a_round_logs_no_phi(server: Server, json_logs: io.StringIO) -> None:
    opened = await server.client.post(
        "/v1/threads", json={"patient_id": OWN}, headers=server.auth("clinician")
    )
    thread = opened.json()["id"]
    await server.client.post(
        f"/v1/threads/{thread}/messages",
        json={"content": "Is the hyperkalaemia dangerous? Q-42"},
        headers=server.auth("clinician"),
    )
    await server.client.post(
        "/v1/threads", json={"patient_id": OTHER}, headers=server.auth("clinician")
    )
    logged = json_logs.getvalue()
    assert "ward_round.started" in logged
    assert "request_id" in logged  # bound per request by the middleware
    for secret in ("hyperkalaemia dangerous", "Q-42", "Answer for", OWN, OTHER):
        assert secret not in logged, secret
