"""A round that proposes a write pauses; only a clinician on the ward decides it over HTTP."""

from __future__ import annotations

import json
from typing import Any

from core.domain import Medication
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
    assert names[-4:] == ["approval_required", "outlook", "answer", "done"]
    outlook = dict(events)["outlook"]
    assert outlook["outlook"] == dict(events)["answer"]["result"]["outlook"]
    assert outlook["heading"].startswith("Outlook (")
    # the answer streams as the synthesizer writes it: token events between its start and finish
    started = events.index(("status", {"node": "synthesize", "phase": "started"}))
    finished = events.index(("status", {"node": "synthesize", "phase": "finished"}))
    tokens = [data["text"] for name, data in events if name == "token"]
    # a step's outputs come before it finishes: the synthesis's cards after its tokens
    assert names[started + 1 : finished] == ["token"] * len(tokens) + ["cards"]
    assert len(tokens) > 1
    assert "".join(tokens) == "Answer for the question."
    assert dict(events)["answer"]["answer"].startswith("".join(tokens) + "\n\n")
    required = dict(events)["approval_required"]
    assert [p["id"] for p in required["proposals"]] == [PROPOSAL]
    assert required["ward"] == "7A"
    assert dict(events)["answer"]["result"]["pending_approval"] is True

    read = await server.client.get(f"/v1/threads/{thread}", headers=server.auth("clinician_7a"))
    assert [p["id"] for p in read.json()["pending_approvals"]] == [PROPOSAL]

    # a strict client's question waits for the decision (409, nothing runs) ...
    for strict in (
        {"json": {"content": "and?", "strict": True}},
        {"json": {"content": "and?"}, "headers": {"X-Wardround-Strict": "true"}},
    ):
        headers = {**server.auth("clinician_7a"), **strict.pop("headers", {})}
        refused = await server.client.post(
            f"/v1/threads/{thread}/messages", headers=headers, **strict
        )
        assert refused.status_code == 409
        assert refused.json()["title"] == "Approval pending"
    # ... any other question is answered, and the proposal still waits, listed again
    again = await server.client.post(
        f"/v1/threads/{thread}/messages",
        json={"content": "and?"},
        headers=server.auth("clinician_7a"),
    )
    assert again.status_code == 200
    answered = dict(sse_events(again.text))
    assert [p["id"] for p in answered["approval_required"]["proposals"]] == [PROPOSAL]
    assert answered["answer"]["result"]["pending_approval"] is True
    assert answered["answer"]["result"]["turns"] == 2

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
    """Two strict questions at once: the one that waited behind the pause is refused."""
    import asyncio

    opened = await server.client.post(
        "/v1/threads", json={"patient_id": PAUSING}, headers=server.auth("clinician_7a")
    )
    thread = opened.json()["id"]

    async def ask(q: str) -> list[tuple[str, dict[str, Any]]]:
        response = await server.client.post(
            f"/v1/threads/{thread}/messages",
            json={"content": q, "strict": True},
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


SECOND = "MedicationRequest/penicillin-allergy-betalactam-medreq-extra"


async def add_second_proposal(server: Server) -> None:
    """A variant of the allergy patient with a second drafted order: the round proposes both."""
    patients = server.app.state.wardround.runtime.deps.patients
    record = await patients.load(PAUSING)
    extra = Medication(
        ref=SECOND, name="Paracetamol", dose="1 g PO QDS", status="draft", proposed=True
    )
    patients.put(record.model_copy(update={"medications": (*record.medications, extra)}))


async def two_proposals(server: Server) -> tuple[str, list[str]]:
    await add_second_proposal(server)
    thread, events = await paused_thread(server)
    proposals = [p["id"] for p in dict(events)["approval_required"]["proposals"]]
    assert proposals == [PROPOSAL, f"activate:{SECOND}"]
    return thread, proposals


async def test_several_proposals_are_decided_together(server: Server) -> None:
    thread, proposals = await two_proposals(server)
    who = server.auth("clinician_7a")
    # one proposal's own route would leave the other undecided: refused, nothing decided
    single = await server.client.post(
        f"/v1/threads/{thread}/approvals/{PROPOSAL}", json={"decision": "reject"}, headers=who
    )
    assert single.status_code == 409
    assert single.json()["title"] == "Several proposals wait"
    assert f"POST /v1/threads/{thread}/approvals" in single.json()["detail"]
    read = await server.client.get(f"/v1/threads/{thread}", headers=who)
    assert [p["id"] for p in read.json()["pending_approvals"]] == proposals

    url = f"/v1/threads/{thread}/approvals"
    partial = await server.client.post(
        url, json={"decisions": [{"proposal_id": PROPOSAL, "decision": "reject"}]}, headers=who
    )
    assert partial.status_code == 422
    assert partial.json()["detail"].endswith(f"missing: activate:{SECOND}")
    twice = await server.client.post(
        url,
        json={
            "decisions": [{"proposal_id": PROPOSAL, "decision": d} for d in ("reject", "approve")]
        },
        headers=who,
    )
    assert "repeated: " + PROPOSAL in twice.json()["detail"]
    stranger = await server.client.post(
        url,
        json={"decisions": [{"proposal_id": "hold:MedicationRequest/x", "decision": "approve"}]},
        headers=who,
    )
    assert "not pending: hold:MedicationRequest/x" in stranger.json()["detail"]
    assert outbox(server) == []

    decided = await server.client.post(
        url,
        json={
            "decisions": [
                {"proposal_id": PROPOSAL, "decision": "reject", "comment": "penicillin allergy"},
                {"proposal_id": f"activate:{SECOND}", "decision": "approve"},
            ]
        },
        headers=who,
    )
    resumed = sse_events(decided.text)
    assert [name for name, _ in resumed][-2:] == ["answer", "done"]
    result = dict(resumed)["answer"]["result"]
    assert result["pending_approval"] is False
    assert [(d["proposal_id"], d["decision"], d["approver"]) for d in result["decisions"]] == [
        (PROPOSAL, "reject", "u-lin"),
        (f"activate:{SECOND}", "approve", "u-lin"),
    ]
    assert [w["proposal"]["id"] for w in outbox(server)] == [f"activate:{SECOND}"]
    read = await server.client.get(f"/v1/threads/{thread}", headers=who)
    assert read.json()["pending_approvals"] == []


async def test_the_list_form_decides_a_single_proposal_too(server: Server) -> None:
    thread, _ = await paused_thread(server)
    decided = await server.client.post(
        f"/v1/threads/{thread}/approvals",
        json={"decisions": [{"proposal_id": PROPOSAL, "decision": "approve"}]},
        headers={**server.auth("clinician_7a"), **JSON},
    )
    assert decided.status_code == 200, decided.text
    assert [d["decision"] for d in decided.json()["decisions"]] == ["approve"]
    assert len(outbox(server)) == 1
    for who, status in (("clinician", 404), ("auditor", 403)):
        again = await server.client.post(
            f"/v1/threads/{thread}/approvals",
            json={"decisions": [{"proposal_id": PROPOSAL, "decision": "approve"}]},
            headers=server.auth(who),
        )
        assert again.status_code == status


async def test_a_decision_that_failed_is_not_applied_to_the_next_one(server: Server) -> None:
    """Issue 17 item 1 over HTTP: approve all while the outbox cannot be written (an error, the
    proposals wait again), then reject all: the rejection is what is recorded, and nothing is
    written."""
    thread, proposals = await two_proposals(server)
    who = {**server.auth("clinician_7a"), **JSON}
    url = f"/v1/threads/{thread}/approvals"
    path = server.app.state.wardround.settings.data_dir / "outbox.jsonl"
    path.mkdir(parents=True)  # a directory where the outbox file goes: the write fails
    approve_all = [{"proposal_id": p, "decision": "approve", "comment": "ok"} for p in proposals]
    failed = await server.client.post(url, json={"decisions": approve_all}, headers=who)
    assert failed.status_code == 503, failed.text
    assert failed.json()["title"] == "Decision not recorded"
    read = await server.client.get(f"/v1/threads/{thread}", headers=who)
    assert [p["id"] for p in read.json()["pending_approvals"]] == proposals
    path.rmdir()
    reject_all = [{"proposal_id": p, "decision": "reject", "comment": "no"} for p in proposals]
    decided = await server.client.post(url, json={"decisions": reject_all}, headers=who)
    assert decided.status_code == 200, decided.text
    assert [(d["decision"], d["comment"]) for d in decided.json()["decisions"]] == [
        ("reject", "no"),
        ("reject", "no"),
    ]
    assert outbox(server) == []
