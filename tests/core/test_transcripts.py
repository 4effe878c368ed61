"""Transcript replay: body matching, loud mismatches with a diff, probe answers from the profile."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from core.errors import DataFileError, TranscriptMismatch
from core.model.client import ModelClient
from core.model.replies import Reply, completion_from_reply
from core.model.transcript import RecordedCall, read_transcript, request_key
from core.model.transcript_server import TranscriptServer
from core.model.types import ModelCapabilities, ModelConfig

Q1 = [{"role": "user", "content": "What is the eGFR trend?"}]
Q2 = [{"role": "user", "content": "Is warfarin safe with clarithromycin?"}]


def write_transcript(path: Path, pairs: list[tuple[list[dict[str, str]], str]]) -> None:
    lines = [json.dumps({"type": "header", "run_id": "r1"})]
    for messages, answer in pairs:
        request = {"model": "m", "messages": messages, "max_tokens": 50}
        response = completion_from_reply(Reply.text(answer), request, seq=1)
        lines.append(json.dumps(RecordedCall(request=request, response=response).to_line()))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


async def replay_client(
    path: Path, **kw: object
) -> tuple[TranscriptServer, ModelClient, httpx.AsyncClient]:
    server = TranscriptServer(transcript=path, **kw)  # type: ignore[arg-type]
    http = server.http_client()
    client = ModelClient(
        ModelConfig(base_url=server.base_url_inprocess, model="m"),
        http_client=http,
        capabilities=server.profile,
    )
    return server, client, http


async def test_replay_answers_each_recorded_request(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    write_transcript(path, [(Q1, "falling from 58 to 31"), (Q2, "no: major interaction")])
    server, client, http = await replay_client(path)
    try:
        b = await client.chat(Q2, max_tokens=50)
        a = await client.chat(Q1, max_tokens=50, stream=None)  # null fields do not matter
        streamed = "".join([p async for p in client.stream(Q1, max_tokens=50)])
    finally:
        await http.aclose()
    assert a.choices[0].message.content == "falling from 58 to 31"
    assert b.choices[0].message.content == "no: major interaction"
    assert streamed == "falling from 58 to 31"  # a recorded whole reply streams on demand
    assert server.header["run_id"] == "r1"


async def test_a_changed_prompt_fails_loudly_with_a_diff(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    write_transcript(path, [(Q1, "falling")])
    server, client, http = await replay_client(path)
    drifted = [{"role": "user", "content": "What is the eGFR trend now?"}]
    try:
        with pytest.raises(TranscriptMismatch) as info:
            await client.chat(drifted, max_tokens=50)
    finally:
        await http.aclose()
    message = str(info.value)
    assert "--- recorded (line 2)" in message
    assert '-   "content": "What is the eGFR trend?",' in message
    assert '+   "content": "What is the eGFR trend now?",' in message
    assert server.misses == 1


async def test_probe_is_answered_from_the_profile(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    write_transcript(path, [])
    llama = ModelCapabilities(tools=True, structured="json_object_schema")
    server = TranscriptServer(transcript=path, profile=llama)
    async with server.http_client() as http:
        client = ModelClient(
            ModelConfig(base_url=server.base_url_inprocess, model="m"), http_client=http
        )
        caps = await client.capabilities()
    assert (caps.tools, caps.structured) == (True, "json_object_schema")
    assert server.requests == []  # probes are not part of any transcript


def test_request_key_ignores_transport_details_only() -> None:
    body = {"model": "m", "messages": Q1, "temperature": 0.0}
    assert request_key(body) == request_key({**body, "stream": True, "stream_options": {"x": 1}})
    assert request_key(body) == request_key({**body, "seed": None})
    assert request_key(body) != request_key({**body, "temperature": 0.1})


def test_a_malformed_transcript_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"type": "header"}\n{"request": \n', encoding="utf-8")
    with pytest.raises(DataFileError, match=r"bad.jsonl:2: not JSON"):
        read_transcript(path)


def test_network_guard_blocks_non_loopback(network_guard: list[str]) -> None:
    with httpx.Client() as http, pytest.raises(httpx.ConnectError, match="network guard"):
        http.get("http://203.0.113.7/v1/models")
    assert network_guard == ["http://203.0.113.7/v1/models"]
    network_guard.clear()  # the guard did its job; do not fail this test at teardown
