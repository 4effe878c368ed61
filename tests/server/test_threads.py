"""Threads over HTTP: open, ask (SSE and JSON), read back; the SSE event sequence of a round."""

from __future__ import annotations

import sqlite3
from typing import Any

from core.settings import Settings
from tests.server.conftest import OWN, Server, sse_events


async def open_thread(server: Server, patient_id: str = OWN, who: str = "clinician") -> str:
    response = await server.client.post(
        "/v1/threads", json={"patient_id": patient_id}, headers=server.auth(who)
    )
    assert response.status_code == 201, response.text
    thread_id: str = response.json()["id"]
    return thread_id


async def test_sse_event_sequence_of_a_round(server: Server) -> None:
    thread = await open_thread(server)
    response = await server.client.post(
        f"/v1/threads/{thread}/messages",
        json={"content": "Why is the creatinine rising? Q-1"},
        headers=server.auth("clinician"),
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    names = [name for name, _ in events]
    assert names[-2:] == ["answer", "done"]
    assert "error" not in names
    status = [(d["node"], d["phase"]) for name, d in events if name == "status"]
    assert status[:3] == [
        ("load_record", "started"),
        ("load_record", "finished"),
        ("route", "started"),
    ]
    assert ("route", "finished") in status
    # specialists start after routing and all finish before synthesis starts
    started = {n for n, p in status if p == "started"}
    assert {"history", "labs", "synthesize"} <= started
    synth = status.index(("synthesize", "started"))
    assert status.index(("history", "finished")) < synth
    assert status.index(("labs", "finished")) < synth
    assert status.index(("synthesize", "finished")) > synth
    findings = [d for name, d in events if name == "finding"]
    assert findings
    assert {"aki_stage"} <= {f["kind"] for f in findings}
    answer = dict(events)["answer"]
    # the cards come once, after synthesis, in reading order, holding every finding sent before
    (cards,) = [d["cards"] for name, d in events if name == "cards"]
    assert names.index("cards") > names.index("finding")
    assert cards[0]["tier"] == "act_now"
    assert cards == answer["result"]["cards"]
    assert sorted(i for c in cards for i in c["finding_ids"]) == sorted(f["id"] for f in findings)
    assert answer["answer"].startswith("Answer for Q-1.")
    assert answer["result"]["thread_id"] == thread
    assert answer["result"]["patient_id"] == OWN
    done = events[-1][1]
    assert done == {"run_id": answer["result"]["run_id"], "thread_id": thread}


async def test_json_when_asked_and_thread_keeps_its_messages(server: Server) -> None:
    thread = await open_thread(server)
    headers = {**server.auth("clinician"), "Accept": "application/json"}
    body: dict[str, Any] = {}
    for n in (1, 2):
        response = await server.client.post(
            f"/v1/threads/{thread}/messages", json={"content": f"Q-{n}?"}, headers=headers
        )
        assert response.status_code == 200
        body = response.json()
        assert body["schema_version"] == "1"
        assert body["cards"]
        assert body["findings"]
        assert body["turns"] == n
    read = await server.client.get(f"/v1/threads/{thread}", headers=server.auth("clinician"))
    assert read.status_code == 200
    messages = read.json()["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"] * 2
    assert messages[0]["content"] == "Q-1?"
    assert messages[3]["content"].startswith("Answer for Q-2.")
    # the latest round's cards, the same versioned shape as the round's JSON result
    detail = read.json()
    assert detail["cards"] == body["cards"]
    assert {c["tier"] for c in detail["cards"]} <= {"act_now", "review", "for_information"}
    assert sorted(i for c in detail["cards"] for i in c["finding_ids"]) == sorted(
        f["id"] for f in detail["findings"]
    )


async def test_a_ward_colleague_shares_the_thread(server: Server) -> None:
    thread = await open_thread(server)
    # a second clinician token on the same wards
    from server.auth import Principal, TokenStore

    store = TokenStore(server.app.state.wardround.settings.tokens_file)
    colleague = store.add(Principal(id="u-c", name="Dr C", role="clinician", wards=("7B",)))
    response = await server.client.get(
        f"/v1/threads/{thread}", headers={"Authorization": f"Bearer {colleague}"}
    )
    assert response.status_code == 200


async def test_validation_errors_name_the_field(server: Server) -> None:
    response = await server.client.post(
        "/v1/threads", json={"patient_id": "../etc"}, headers=server.auth("clinician")
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert [e["field"] for e in body["errors"]] == ["patient_id"]
    thread = await open_thread(server)
    response = await server.client.post(
        f"/v1/threads/{thread}/messages", json={"content": ""}, headers=server.auth("clinician")
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "content"


async def test_request_size_limit(server: Server) -> None:
    thread = await open_thread(server)
    response = await server.client.post(
        f"/v1/threads/{thread}/messages",
        json={"content": "x" * 300_000},
        headers=server.auth("clinician"),
    )
    assert response.status_code == 413
    assert response.json()["title"] == "Request too large"


async def test_a_failed_round_ends_with_error_then_done(server: Server, settings: Settings) -> None:
    """A real fault inside the round: the thread's checkpoint store (the real SQLite file) starts
    refusing writes after the thread was opened, so the round's first checkpoint fails with the
    store's own error (``sqlite3.IntegrityError``, not a ``WardroundError``)."""
    thread = await open_thread(server)
    with sqlite3.connect(settings.checkpoint_path) as store:
        store.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON checkpoints "
            "BEGIN SELECT RAISE(ABORT, 'store refused: secret patient detail'); END"
        )
    response = await server.client.post(
        f"/v1/threads/{thread}/messages", json={"content": "Q-1"}, headers=server.auth("clinician")
    )
    assert response.status_code == 200  # the stream had begun: the failure is its last event
    events = sse_events(response.text)
    assert [name for name, _ in events][-2:] == ["error", "done"]
    error = events[-2][1]
    assert (error["status"], error["title"]) == (500, "Internal error")
    assert "secret" not in response.text
    assert "IntegrityError" not in response.text
    assert "checkpoints" not in response.text
    # the auditor sees how the run ended; the clinician's body never said why
    auditor = server.auth("auditor")
    runs = (await server.client.get("/v1/audit/runs", headers=auditor)).json()["runs"]
    [failed] = [r for r in runs if r["thread_id"] == thread]
    assert failed["outcome"] == "failed"
    # nothing half-written holds the thread: once the store takes writes again, it answers
    with sqlite3.connect(settings.checkpoint_path) as store:
        store.execute("DROP TRIGGER refuse")
    again = await server.client.post(
        f"/v1/threads/{thread}/messages", json={"content": "Q-2"}, headers=server.auth("clinician")
    )
    names = [name for name, _ in sse_events(again.text)]
    assert names[-2:] == ["answer", "done"]
    assert dict(sse_events(again.text))["answer"]["answer"].startswith("Answer for Q-2.")


async def test_request_size_limit_without_content_length(server: Server) -> None:
    thread = await open_thread(server)

    async def chunks() -> Any:
        yield b'{"content": "'
        for _ in range(40):
            yield b"x" * 10_000
        yield b'"}'

    response = await server.client.post(
        f"/v1/threads/{thread}/messages",
        content=chunks(),
        headers={**server.auth("clinician"), "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_patients_threads_are_listed_for_the_ward_newest_first(server: Server) -> None:
    from tests.server.conftest import OTHER, PAUSING

    lin = server.auth("clinician_7a")
    first = await server.client.post("/v1/threads", json={"patient_id": PAUSING}, headers=lin)
    asked = await server.client.post(
        f"/v1/threads/{first.json()['id']}/messages",
        json={"content": "Can we give the co-amoxiclav?"},
        headers={**lin, "Accept": "application/json"},
    )
    assert asked.json()["pending_approval"]
    second = await server.client.post("/v1/threads", json={"patient_id": PAUSING}, headers=lin)
    listed = await server.client.get(f"/v1/threads?patient_id={PAUSING}", headers=lin)
    assert listed.status_code == 200
    newest, older = listed.json()
    assert (newest["id"], older["id"]) == (second.json()["id"], first.json()["id"])
    assert (newest["turns"], newest["paused"]) == (0, False)
    assert (older["turns"], older["paused"]) == (1, True)
    assert older["last_question"] == "Can we give the co-amoxiclav?"

    detail = await server.client.get(f"/v1/threads/{first.json()['id']}", headers=lin)
    assert detail.json()["findings"], "the findings the pending proposals stand on"

    off_ward = await server.client.get(f"/v1/threads?patient_id={OTHER}", headers=lin)
    assert off_ward.status_code == 404
    bad = await server.client.get("/v1/threads?patient_id=../x", headers=lin)
    assert bad.status_code == 422
