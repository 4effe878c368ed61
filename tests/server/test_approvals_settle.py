"""Approvals settle over the real server (uvicorn on loopback): ask, decide all, ask again: no
pause and no new proposal, the answer says what was decided; a higher potassium brings the
holds back saying what changed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.settings import SHIPPED_DATA, Settings
from server.app import create_app
from server.auth import RateLimit, TokenStore
from server.wiring import open_runtime
from tests.server.browser import running
from tests.server.conftest import NOW, OWN_TOO, PRINCIPALS, Server, ShippedPatients, ward_model
from tools.fhir.parse import parse_bundle

JSON = {"Accept": "application/json"}
STAMP = NOW.isoformat()


@pytest.fixture
async def kg_server(settings: Settings, scripted_model: Any, curated_kg: Any) -> Any:
    """The test server with the curated KG: its interactions and contraindications are what
    the holds are because of."""
    model_server, client = scripted_model(ward_model)
    store = TokenStore(settings.tokens_file)
    tokens = {who: store.add(p) for who, p in PRINCIPALS.items()}
    patients = ShippedPatients([OWN_TOO])
    async with open_runtime(
        settings, model=client, patients=patients, graph_store=curated_kg, clock=lambda: NOW
    ) as runtime:
        app = create_app(runtime, settings, rate_limit=RateLimit(burst=1000, per_second=100))
        async with app.router.lifespan_context(app), httpx.AsyncClient() as unused:
            yield Server(app, unused, tokens, model_server)  # the tests use a real port


async def ask(http: httpx.AsyncClient, thread: str, question: str, auth: dict[str, str]) -> Any:
    response = await http.post(
        f"/v1/threads/{thread}/messages", json={"content": question}, headers={**auth, **JSON}
    )
    assert response.status_code == 200, response.text
    return response.json()


async def decide_all(
    http: httpx.AsyncClient, thread: str, proposals: list[dict[str, Any]], decision: str, auth: Any
) -> Any:
    decisions = [{"proposal_id": p["id"], "decision": decision} for p in proposals]
    response = await http.post(
        f"/v1/threads/{thread}/approvals", json={"decisions": decisions}, headers={**auth, **JSON}
    )
    assert response.status_code == 200, response.text
    return response.json()


def outbox_lines(server: Server) -> list[str]:
    path = server.app.state.wardround.settings.data_dir / "outbox.jsonl"
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def with_potassium(tmp_path: Path, value: float) -> Any:
    """The hyperkalaemia patient's record with a new potassium result a day after the last."""
    source = SHIPPED_DATA / "patients" / f"{OWN_TOO}.json"
    bundle = json.loads(source.read_text(encoding="utf-8"))
    last = next(e for e in bundle["entry"] if e["resource"]["id"] == f"{OWN_TOO}-obs-10")
    new = json.loads(json.dumps(last))
    new["resource"].update(id=f"{OWN_TOO}-obs-99", effectiveDateTime="2025-09-16T06:00:00+08:00")
    new["resource"]["valueQuantity"]["value"] = value
    bundle["entry"].append(new)
    path = tmp_path / f"{OWN_TOO}.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    return parse_bundle(path, now=NOW)


@pytest.mark.parametrize(("decision", "said"), [("approve", "approved"), ("reject", "rejected")])
async def test_decided_holds_settle_and_come_back_when_potassium_rises(
    kg_server: Server, tmp_path: Path, decision: str, said: str
) -> None:
    server = kg_server
    auth = server.auth("clinician")  # Dr A, wards 7B and 5A: the patient is on 5A
    async with running(server.app) as base, httpx.AsyncClient(base_url=base, timeout=60) as http:
        opened = await http.post("/v1/threads", json={"patient_id": OWN_TOO}, headers=auth)
        thread = opened.json()["id"]
        first = await ask(http, thread, "Potassium plan?", auth)
        assert first["pending_approval"] is True
        held = {p["id"] for p in first["proposals"]}
        assert len(held) == 2  # spironolactone; potassium chloride (then review ramipril)
        await decide_all(http, thread, first["proposals"], decision, auth)
        written = outbox_lines(server)
        assert len(written) == (2 if decision == "approve" else 0)

        again = await ask(http, thread, "Anything else today?", auth)
        assert again["pending_approval"] is False
        assert again["proposals"] == []
        assert {s["proposal"]["id"] for s in again["settled"]} == held
        assert all(s["approver"] == "u-a" and s["decision"] == decision for s in again["settled"])
        assert "Decisions on this thread:" in again["answer"]
        hold = f"Hold spironolactone 25 MG Oral Tablet: {said} by Dr A (u-a) at {STAMP}"
        assert hold in again["answer"]
        read = await http.get(f"/v1/threads/{thread}", headers=auth)
        assert read.json()["pending_approvals"] == []
        assert outbox_lines(server) == written  # nothing written twice

        server.app.state.wardround.runtime.deps.patients.put(with_potassium(tmp_path, 7.1))
        changed = await ask(http, thread, "The lab rang: potassium?", auth)
    assert changed["pending_approval"] is True
    assert {p["id"] for p in changed["proposals"]} == held
    for p in changed["proposals"]:
        assert p["changed"] == f"{said} by Dr A (u-a) at {STAMP}; since then: potassium 6.4 → 7.1"
    assert "proposed again" in changed["answer"]
    assert changed.get("settled", []) == []  # both came back: none stands
