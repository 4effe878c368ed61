"""The auditor's read-only API over a real round: runs, the run tree, verification, FHIR export."""

from __future__ import annotations

from fhir.resources.R4B.bundle import Bundle

from tests.server.conftest import OWN, Server
from tests.server.test_threads import open_thread


async def ask_once(server: Server) -> str:
    thread = await open_thread(server)
    response = await server.client.post(
        f"/v1/threads/{thread}/messages",
        json={"content": "Why is the creatinine rising? Q-7"},
        headers={**server.auth("clinician"), "Accept": "application/json"},
    )
    assert response.status_code == 200, response.text
    run_id: str = response.json()["run_id"]
    return run_id


async def test_auditor_follows_a_run_from_list_to_tree(server: Server) -> None:
    run_id = await ask_once(server)
    auditor = server.auth("auditor")
    page = await server.client.get("/v1/audit/runs", params={"patient": OWN}, headers=auditor)
    assert page.status_code == 200, page.text
    assert run_id in [r["run_id"] for r in page.json()["runs"]]
    tree = (await server.client.get(f"/v1/audit/runs/{run_id}", headers=auditor)).json()
    kinds = [root["event"]["kind"] for root in tree["roots"]]
    assert kinds[0] == "request.received"
    assert "request.answered" in kinds
    nodes = [
        root["event"]["payload"]["node"]
        for root in tree["roots"]
        if root["event"]["kind"] == "node.started"
    ]
    assert {"load_record", "route", "synthesize"} <= set(nodes)
    verify = (await server.client.get("/v1/audit/verify", headers=auditor)).json()
    assert verify["fault"] is None
    assert verify["events_checked"] > 10


async def test_export_is_a_valid_fhir_bundle(server: Server) -> None:
    run_id = await ask_once(server)
    response = await server.client.get(
        "/v1/audit/export", params={"run": run_id}, headers=server.auth("auditor")
    )
    assert response.status_code == 200, response.text
    bundle = Bundle.model_validate(response.json())
    types = {entry.resource.__resource_type__ for entry in bundle.entry or []}
    assert {"AuditEvent", "Provenance"} <= types


async def test_only_auditors_read_the_trail(server: Server) -> None:
    for who in ("clinician", "admin"):
        response = await server.client.get("/v1/audit/runs", headers=server.auth(who))
        assert response.status_code == 403, who
        assert response.headers["content-type"].startswith("application/problem+json")
    missing = await server.client.get("/v1/audit/runs/run-nope", headers=server.auth("auditor"))
    assert missing.status_code == 404
    assert (await server.client.get("/v1/audit/verify")).status_code == 401
