"""A round that proposes a write pauses; only a clinician on the ward decides it over HTTP."""

from __future__ import annotations

import json
from typing import Any

from tests.server.conftest import PAUSING, Server, sse_events

ORDER = "MedicationRequest/penicillin-allergy-betalactam-medreq-1"
PROPOSAL = f"activate:{ORDER}"
JSON = {"Accept": "application/json"}


async def paused_thread(server: Server) -> tuple[str, list[tuple[str, dict[str, Any]]]]:
    opened = await server.client.post(
        "/v1/threads", json={"patient_id": PAUSING}, headers=server.auth("clinician_7a")
    )
    thread = opened.json()["id"]
    response = await server.client.post(
        f"/v1/threads/{thread}/messages",
        json={"content": "Can we give the co-amoxiclav?"},
        headers=server.auth("clinician_7a"),
    )
    return thread, sse_events(response.text)


def outbox(server: Server) -> list[dict[str, Any]]:
    path = server.app.state.wardround.settings.data_dir / "outbox.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


async def test_sse_sequence_of_a_round_with_an_approval(server: Server) -> None:
    thread, events = await paused_thread(server)
    names = [name for name, _ in events]
    assert names[-3:] == ["approval_required", "answer", "done"]
    required = dict(events)["approval_required"]
    assert [p["id"] for p in required["proposals"]] == [PROPOSAL]
    assert required["ward"] == "7A"
    assert dict(events)["answer"]["result"]["pending_approval"] is True

    read = await server.client.get(f"/v1/threads/{thread}", headers=server.auth("clinician_7a"))
    assert [p["id"] for p in read.json()["pending_approvals"]] == [PROPOSAL]

    # a new question would abandon the proposal: refused until it is decided
    again = await server.client.post(
        f"/v1/threads/{thread}/messages",
        json={"content": "and?"},
        headers=server.auth("clinician_7a"),
    )
    assert again.status_code == 409

    decided = await server.client.post(
        f"/v1/threads/{thread}/approvals/{PROPOSAL}",
        json={"decision": "reject", "comment": "penicillin allergy"},
        headers=server.auth("clinician_7a"),
    )
    resumed = sse_events(decided.text)
    assert resumed[0][1] == {"node": "approve", "phase": "started"}
    assert [name for name, _ in resumed][-2:] == ["answer", "done"]
    result = dict(resumed)["answer"]["result"]
    assert result["pending_approval"] is False
    assert [(d["decision"], d["approver"]) for d in result["decisions"]] == [("reject", "u-lin")]
    assert outbox(server) == []


async def test_approve_as_json_writes_the_outbox(server: Server) -> None:
    thread, _ = await paused_thread(server)
    url = f"/v1/threads/{thread}/approvals/{PROPOSAL}"
    response = await server.client.post(
        url,
        json={"decision": "approve", "comment": "allergy reviewed: rash in 1980"},
        headers={**server.auth("clinician_7a"), **JSON},
    )
    assert response.status_code == 200, response.text
    decision = response.json()["decisions"][0]
    assert decision["approver"] == "u-lin"
    assert decision["digest"].startswith("sha256:")
    [written] = outbox(server)
    assert written["proposal"]["id"] == PROPOSAL
    read = await server.client.get(f"/v1/threads/{thread}", headers=server.auth("clinician_7a"))
    assert read.json()["pending_approvals"] == []
    assert read.json()["decisions"][0]["digest"] == decision["digest"]
    # decided once: nothing waits any more
    twice = await server.client.post(
        url, json={"decision": "approve"}, headers={**server.auth("clinician_7a"), **JSON}
    )
    assert twice.status_code == 409


async def test_who_may_decide(server: Server) -> None:
    thread, _ = await paused_thread(server)
    url = f"/v1/threads/{thread}/approvals/{PROPOSAL}"
    body = {"decision": "approve"}
    expected = {
        "clinician_7a": None,  # checked last: it resumes the round
        "clinician": 404,  # wards 7B/5A: the thread is not theirs to see
        "clinician_b": 404,
        "auditor": 403,
        "admin": 403,
    }
    for who, status in expected.items():
        if status is not None:
            response = await server.client.post(url, json=body, headers=server.auth(who))
            assert response.status_code == status, who
    unknown = await server.client.post(
        f"/v1/threads/{thread}/approvals/hold:MedicationRequest/x",
        json=body,
        headers=server.auth("clinician_7a"),
    )
    assert unknown.status_code == 404
    assert unknown.json()["title"] == "Proposal not found"
    bad = await server.client.post(
        url, json={"decision": "maybe"}, headers=server.auth("clinician_7a")
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "decision"
    assert outbox(server) == []
    ok = await server.client.post(url, json=body, headers={**server.auth("clinician_7a"), **JSON})
    assert ok.status_code == 200
    assert len(outbox(server)) == 1


async def test_a_queued_question_does_not_abandon_a_pause(server: Server) -> None:
    import asyncio

    opened = await server.client.post(
        "/v1/threads", json={"patient_id": PAUSING}, headers=server.auth("clinician_7a")
    )
    thread = opened.json()["id"]

    async def ask(q: str) -> list[tuple[str, dict[str, Any]]]:
        response = await server.client.post(
            f"/v1/threads/{thread}/messages",
            json={"content": q},
            headers=server.auth("clinician_7a"),
        )
        return sse_events(response.text)

    first, second = await asyncio.gather(ask("Can we give it?"), ask("And now?"))
    outcomes = sorted(
        [dict(first).get("error", {}).get("title"), dict(second).get("error", {}).get("title")],
        key=str,
    )
    assert outcomes == ["Approval pending", None]  # one paused, the other was refused
    read = await server.client.get(f"/v1/threads/{thread}", headers=server.auth("clinician_7a"))
    assert [p["id"] for p in read.json()["pending_approvals"]] == [PROPOSAL]
