"""The facade speaks the OpenAI reference shapes, and a chat client's housekeeping runs no round.

The official ``openai`` client parses every reply (its own types are the reference); byte-level
checks read the raw stream. Open WebUI's request shapes are fixtures in ``data/openwebui``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openai
import pytest
from openai import AsyncOpenAI

from tests.server.conftest import OTHER, OWN, PAUSING, Server

OPENWEBUI = Path(__file__).parent / "data" / "openwebui"


def openwebui(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((OPENWEBUI / name).read_text())
    body["model"] = body["model"].replace("PATIENT", OWN)
    return body


@pytest.fixture
def client(server: Server) -> AsyncOpenAI:
    return AsyncOpenAI(
        base_url="http://testserver/v1",
        api_key=server.tokens["clinician"],
        http_client=server.client,
        max_retries=0,
    )


def data_lines(text: str) -> list[dict[str, Any]]:
    return [
        json.loads(line[len("data: ") :])
        for line in text.splitlines()
        if line.startswith("data: ") and line != "data: [DONE]"
    ]


async def audited_runs(server: Server) -> int:
    response = await server.client.get("/v1/audit/runs", headers=server.auth("auditor"))
    assert response.status_code == 200
    return len(response.json()["runs"])


async def test_each_reply_has_its_own_id_and_echoes_the_model(client: AsyncOpenAI) -> None:
    model = f"wardround/{OWN}"
    first = await client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "Q-61"}]
    )
    thread = (first.model_extra or {})["wardround"]["thread_id"]
    second = await client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "Q-62"}],
        extra_body={"metadata": {"thread_id": thread}},
    )
    assert first.id != second.id  # same thread, two replies
    assert first.model == second.model == model
    assert first.usage is not None
    assert first.usage.total_tokens > 0


async def test_usage_is_streamed_only_when_asked_in_the_reference_shape(server: Server) -> None:
    body = {"model": f"wardround/{OWN}", "messages": [{"role": "user", "content": "Q-63"}]}
    plain = await server.client.post(
        "/v1/chat/completions", json={**body, "stream": True}, headers=server.auth("clinician")
    )
    chunks = data_lines(plain.text)
    assert all("usage" not in c for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    assert {c["model"] for c in chunks} == {f"wardround/{OWN}"}
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"

    asked = await server.client.post(
        "/v1/chat/completions",
        json={**body, "stream": True, "stream_options": {"include_usage": True}},
        headers=server.auth("clinician"),
    )
    chunks = data_lines(asked.text)
    *answer, last = chunks
    assert all(c["usage"] is None for c in answer)  # present, null
    assert last["choices"] == []
    assert last["usage"]["total_tokens"] > 0
    assert answer[-1]["choices"][0]["finish_reason"] == "stop"
    assert chunks[0]["id"] != data_lines(plain.text)[0]["id"]


async def test_one_model_can_be_read_by_its_id(client: AsyncOpenAI) -> None:
    mine = await client.models.retrieve(f"wardround/{OWN}")
    assert mine.id == f"wardround/{OWN}"
    assert (await client.models.retrieve("wardround")).id == "wardround"
    with pytest.raises(openai.NotFoundError):  # off this clinician's wards: as if absent
        await client.models.retrieve(f"wardround/{OTHER}")
    with pytest.raises(openai.NotFoundError):
        await client.models.retrieve("gpt-4o")


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"n": 2}, "n"),
        ({"tools": [{"type": "function", "function": {"name": "f"}}]}, "tools"),
        ({"response_format": {"type": "json_object"}}, "response_format"),
        ({"logprobs": True}, "logprobs"),
    ],
)
async def test_parameters_a_round_cannot_honour_are_refused(
    client: AsyncOpenAI, server: Server, extra: dict[str, Any], named: str
) -> None:
    with pytest.raises(openai.UnprocessableEntityError, match=rf"\b{named}\b"):
        await client.chat.completions.create(
            model=f"wardround/{OWN}",
            messages=[{"role": "user", "content": "Q-64"}],
            extra_body=extra,
        )
    assert not server.model_server.requests  # refused before any round


async def test_a_request_naming_no_patient_says_how_to_pick_one(
    client: AsyncOpenAI, server: Server
) -> None:
    reply = await client.chat.completions.create(
        model="wardround", messages=[{"role": "user", "content": "How is he?"}]
    )
    text = reply.choices[0].message.content or ""
    assert "wardround/<patient id>" in text
    assert "metadata.patient_id" in text
    assert f"wardround/{OWN}" in text
    assert OTHER not in text  # only the caller's own patients
    assert not server.model_server.requests
    assert await audited_runs(server) == 0


@pytest.mark.parametrize(
    ("fixture", "key"),
    [("title.json", "title"), ("tags.json", "tags"), ("follow_ups.json", "follow_ups")],
)
async def test_open_webui_housekeeping_runs_no_round(
    server: Server, fixture: str, key: str
) -> None:
    response = await server.client.post(
        "/v1/chat/completions", json=openwebui(fixture), headers=server.auth("clinician")
    )
    assert response.status_code == 200
    assert "x-wardround-thread" not in response.headers  # no thread was opened
    reply = json.loads(response.json()["choices"][0]["message"]["content"])
    assert set(reply) == {key}
    assert not server.model_server.requests  # no model call, no record read for it
    assert await audited_runs(server) == 0  # no audited clinical run


async def test_open_webui_two_turns_run_two_rounds(server: Server) -> None:
    """A chat turn, then the three tasks Open WebUI sends after it, twice: two rounds in all."""
    for turn in (1, 2):
        chat = openwebui("chat.json")
        chat["messages"][-1]["content"] += f" Q-7{turn}"
        response = await server.client.post(
            "/v1/chat/completions", json=chat, headers=server.auth("clinician")
        )
        assert response.status_code == 200
        assert data_lines(response.text)[-1]["usage"]["total_tokens"] > 0
        for task in ("title.json", "tags.json", "follow_ups.json"):
            done = await server.client.post(
                "/v1/chat/completions", json=openwebui(task), headers=server.auth("clinician")
            )
            assert done.status_code == 200
    assert await audited_runs(server) == 2


async def test_a_paused_round_lists_its_approvals_in_the_reply(server: Server) -> None:
    lin = AsyncOpenAI(
        base_url="http://testserver/v1",
        api_key=server.tokens["clinician_7a"],
        http_client=server.client,
        max_retries=0,
    )
    reply = await lin.chat.completions.create(
        model=f"wardround/{PAUSING}",
        messages=[{"role": "user", "content": "Can we give the co-amoxiclav?"}],
    )
    extra = (reply.model_extra or {})["wardround"]
    [pending] = extra["pending_approvals"]
    text = reply.choices[0].message.content or ""
    assert "Waiting for a clinician's decision" in text
    assert pending["id"] in text
    assert f"/v1/threads/{extra['thread_id']}/approvals" in text
