"""The server audits every access (allowed or not) and every round, with the caller's id."""

from __future__ import annotations

from tests.server.conftest import OTHER, OWN, Server


async def test_rounds_and_accesses_are_audited(server: Server) -> None:
    audit = server.app.state.wardround.runtime.audit
    opened = await server.client.post(
        "/v1/threads", json={"patient_id": OWN}, headers=server.auth("clinician")
    )
    thread = opened.json()["id"]
    await server.client.post(
        f"/v1/threads/{thread}/messages", json={"content": "Q-1"}, headers=server.auth("clinician")
    )
    denied = await server.client.get(f"/v1/threads/{thread}", headers=server.auth("clinician_b"))
    assert denied.status_code == 404
    await server.client.post(
        "/v1/threads", json={"patient_id": OTHER}, headers=server.auth("clinician")
    )

    events = await audit.events(patient_id=OWN)
    kinds = [e.kind for e in events]
    assert {"access", "request.received", "request.answered"} <= set(kinds)
    received = next(e for e in events if e.kind == "request.received")
    assert (received.principal_id, received.thread_id) == ("u-a", thread)
    accesses = [
        (e.principal_id, e.payload["action"], e.payload["allowed"])
        for e in events
        if e.kind == "access"
    ]
    assert ("u-a", "open_thread", True) in accesses
    assert ("u-a", "ask", True) in accesses
    assert ("u-b", "read_thread", False) in accesses  # the refused look is on record too
    other = [e for e in await audit.events(patient_id=OTHER) if e.kind == "access"]
    assert [(e.principal_id, e.payload["allowed"]) for e in other] == [("u-a", False)]
