"""Hostile requests: path traversal and Cypher-looking ids, wrong JSON types, bodies that are not
JSON or not UTF-8, enormous questions, garbage cursors, an unbounded export. Each gets a clear
RFC 9457 problem (4xx), never a 500; and none leaves a thread behind.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from server.thread_store import THREADS
from tests.server.conftest import OWN, Server

TRAVERSAL = ["../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", "..", ".", "a/b", "C:\\Windows"]
CYPHER = ["x' MATCH (n) DETACH DELETE n //", "x}) RETURN 1 //", "'; DROP TABLE threads;--"]
JUNK_IDS = ["", " ", "é" * 10, "x" * 65, "\u0000", "%00", "<script>"]

# (method, path, who, body or raw bytes, query params)
Request = tuple[str, str, str, Any, dict[str, str] | None]


def _requests() -> dict[str, Request]:
    out: dict[str, Request] = {}
    for i, pid in enumerate(TRAVERSAL + CYPHER + JUNK_IDS):
        out[f"thread for id {i} {pid[:12]!r}"] = (
            "POST", "/v1/threads", "clinician", {"patient_id": pid}, None,
        )  # fmt: skip
        out[f"facade model for id {i} {pid[:12]!r}"] = (
            "POST", "/v1/chat/completions", "clinician",
            {"model": f"wardround/{pid}", "messages": [{"role": "user", "content": "?"}]}, None,
        )  # fmt: skip
    for name, body in {
        "id a number": {"patient_id": 5},
        "id null": {"patient_id": None},
        "id a list": {"patient_id": ["aki-on-ckd"]},
        "no id": {},
        "body a list": [],
        "body a string": "aki-on-ckd",
        "body not JSON": b"{patient_id: aki",
        "body not UTF-8": b'{"patient_id": "\xe9\xff"}',
        "body deeply nested": b'{"patient_id": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
    }.items():
        out[f"thread: {name}"] = ("POST", "/v1/threads", "clinician", body, None)
    question = {"role": "user", "content": "Why? " * 20_000}  # 100 KB
    out["facade: a 100 KB question"] = (
        "POST", "/v1/chat/completions", "clinician",
        {"model": f"wardround/{OWN}", "messages": [question]}, None,
    )  # fmt: skip
    out["facade: messages a string"] = (
        "POST", "/v1/chat/completions", "clinician", {"model": "wardround", "messages": "hi"}, None,
    )  # fmt: skip
    out["facade: no messages"] = (
        "POST", "/v1/chat/completions", "clinician", {"model": "wardround", "messages": []}, None,
    )  # fmt: skip
    for cursor in ("x", "", "9" * 400, "-1", "1e9", "1; DROP"):
        out[f"audit runs cursor {cursor[:8]!r}"] = (
            "GET", "/v1/audit/runs", "auditor", None, {"cursor": cursor},
        )  # fmt: skip
    out["audit runs limit huge"] = ("GET", "/v1/audit/runs", "auditor", None, {"limit": "9" * 40})
    out["audit export without a bound"] = ("GET", "/v1/audit/export", "auditor", None, None)
    out["audit run traversal"] = ("GET", "/v1/audit/runs/..%2F..%2Fetc", "auditor", None, None)
    out["thread path traversal"] = ("GET", "/v1/threads/..%2F..%2Fetc", "clinician", None, None)
    out["thread Cypher id"] = ("GET", "/v1/threads/x' DETACH DELETE n", "clinician", None, None)
    return out


REQUESTS = _requests()


def test_the_request_corpus_is_large() -> None:
    assert len(REQUESTS) >= 50


@pytest.mark.parametrize("name", list(REQUESTS))
async def test_a_hostile_request_gets_a_clear_problem(server: Server, name: str) -> None:
    method, path, who, body, params = REQUESTS[name]
    raw = body if isinstance(body, bytes) else None
    response = await server.client.request(
        method,
        path,
        params=params,
        json=None if raw is not None or body is None else body,
        content=raw,
        headers={**server.auth(who), "Content-Type": "application/json"},
    )
    assert response.status_code < 500, (name, response.status_code, response.text[:500])
    assert response.status_code >= 400, (name, response.status_code, response.text[:500])
    assert response.headers["content-type"] == "application/problem+json", name
    problem = response.json()
    assert {"type", "title", "status", "detail"} <= problem.keys(), name
    assert problem["status"] == response.status_code
    threads = await server.client.get("/v1/patients", headers=server.auth("clinician"))
    assert threads.status_code == 200  # the ward still answers


async def test_no_thread_is_left_behind(server: Server) -> None:
    for method, path, who, body, _params in REQUESTS.values():
        if path == "/v1/threads" and method == "POST" and not isinstance(body, bytes):
            refused = await server.client.post(path, json=body, headers=server.auth(who))
            assert refused.status_code >= 400
    store = server.app.state.wardround.threads
    with store._engine.connect() as conn:  # the table itself: no row was written
        assert conn.execute(select(func.count()).select_from(THREADS)).scalar_one() == 0
