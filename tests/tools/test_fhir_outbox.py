"""Approved writes recorded on a FHIR R4 server: one transaction per decision, version-guarded
updates, a Provenance for each write; nothing recorded when anything fails. The server is a real
HTTP fake (an ASGI app over the shipped bundles) that enforces ``If-Match`` and applies a
transaction whole or not at all; the ward-round test drives it through the graph's approval."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from agents.approvals import (
    ApprovalResume,
    Approver,
    Decision,
    DecisionNotRecorded,
    JsonlOutbox,
    digest,
)
from core.errors import ConfigurationError
from core.settings import SHIPPED_DATA, Settings
from graphs.run import ask, resume
from tests.conftest import DepsFactory
from tests.graphs.test_approvals import approval_graph
from tools.fhir.outbox import FhirOutbox, FhirWriteFailed

BASE = "http://fhir.invalid/fhir"
NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
FHIR_JSON = "application/fhir+json"
PAUSING = "penicillin-allergy-betalactam"  # ward 7A: a drafted co-amoxiclav order
DRAFT = "MedicationRequest/penicillin-allergy-betalactam-medreq-1"
ACTIVE = "MedicationRequest/aki-on-ckd-medreq-1"  # lisinopril


def _outcome(status: int, code: str, diagnostics: str) -> JSONResponse:
    issue = {"severity": "error", "code": code, "diagnostics": diagnostics}
    body = {"resourceType": "OperationOutcome", "issue": [issue]}
    return JSONResponse(body, status_code=status, media_type=FHIR_JSON)


@dataclass
class FakeFhirWrites:
    """Resources by reference, each with ``meta.versionId``; every transaction received."""

    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    created: list[dict[str, Any]] = field(default_factory=list)
    transactions: list[dict[str, Any]] = field(default_factory=list)
    refuse_with: int | None = None
    stale_reads: bool = False
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @classmethod
    def over(cls, *patients: str) -> FakeFhirWrites:
        fake = cls()
        for pid in patients:
            bundle = json.loads((SHIPPED_DATA / "patients" / f"{pid}.json").read_text("utf-8"))
            for entry in bundle["entry"]:
                r = entry["resource"]
                fake.resources[f"{r['resourceType']}/{r['id']}"] = {**r, "meta": {"versionId": "3"}}
        return fake

    def app(self) -> Starlette:
        async def read(request: Request) -> JSONResponse:
            ref = f"{request.path_params['rtype']}/{request.path_params['rid']}"
            if ref not in self.resources:
                return _outcome(404, "not-found", ref)
            found = self.resources[ref]
            if self.stale_reads:  # another system wrote since: the client reads an old version
                found = {**found, "meta": {"versionId": "2"}}
            return JSONResponse(found, media_type=FHIR_JSON)

        async def transaction(request: Request) -> JSONResponse:
            bundle = await request.json()
            self.transactions.append(bundle)
            if self.refuse_with is not None:
                return _outcome(self.refuse_with, "exception", "server busy")
            if bundle.get("type") != "transaction":
                return _outcome(400, "invalid", "expected a transaction")
            for entry in bundle["entry"]:  # check everything before applying anything
                req = entry["request"]
                if req["method"] == "PUT":
                    current = self.resources.get(req["url"])
                    if current is None:
                        return _outcome(404, "not-found", req["url"])
                    expected = f'W/"{current["meta"]["versionId"]}"'
                    if req.get("ifMatch") != expected:
                        return _outcome(412, "conflict", f"{req['url']} is at {expected}")
            # a server gives each created resource its id and rewrites references to it
            assigned = {
                e["fullUrl"]: f"{e['resource']['resourceType']}/new-{next(self._ids)}"
                for e in bundle["entry"]
                if e["request"]["method"] == "POST"
            }
            responses = []
            for entry in bundle["entry"]:
                req = entry["request"]
                if req["method"] == "PUT":
                    version = str(int(self.resources[req["url"]]["meta"]["versionId"]) + 1)
                    self.resources[req["url"]] = {
                        **entry["resource"],
                        "meta": {"versionId": version},
                    }
                    location = f"{req['url']}/_history/{version}"
                    responses.append({"response": {"status": "200 OK", "location": location}})
                else:
                    text = json.dumps(entry["resource"])
                    for full_url, ref in assigned.items():
                        text = text.replace(full_url, ref)
                    ref = assigned[entry["fullUrl"]]
                    created = {**json.loads(text), "id": ref.partition("/")[2]}
                    self.created.append(created)
                    location = f"{created['resourceType']}/{created['id']}/_history/1"
                    responses.append({"response": {"status": "201 Created", "location": location}})
            body = {"resourceType": "Bundle", "type": "transaction-response", "entry": responses}
            return JSONResponse(body, media_type=FHIR_JSON)

        async def search(request: Request) -> JSONResponse:
            """``Provenance?entity:identifier=system|value``: the one search the outbox makes."""
            wanted = request.query_params.get("entity:identifier", "")
            found = [
                r
                for r in self.created
                if r["resourceType"] == "Provenance"
                and any(
                    f"{e['what']['identifier']['system']}|{e['what']['identifier']['value']}"
                    == wanted
                    for e in r.get("entity") or []
                )
            ]
            body = {"resourceType": "Bundle", "type": "searchset", "entry": [
                {"resource": r} for r in found
            ]}  # fmt: skip
            return JSONResponse(body, media_type=FHIR_JSON)

        return Starlette(
            routes=[
                Route("/fhir/{rtype}/{rid}", read, methods=["GET"]),
                Route("/fhir", transaction, methods=["POST"]),
                Route("/fhir/Provenance", search, methods=["GET"]),
            ]
        )


@pytest.fixture
async def fhir() -> AsyncIterator[tuple[FakeFhirWrites, FhirOutbox]]:
    fake = FakeFhirWrites.over(PAUSING, "aki-on-ckd")
    transport = httpx.ASGITransport(app=fake.app())
    async with httpx.AsyncClient(transport=transport) as http:
        yield fake, FhirOutbox(BASE, http)


def approved(kind: str, target: str, **edits: object) -> dict[str, Any]:
    proposal = {
        "id": f"{kind}:{target}",
        "kind": kind,
        "summary": f"{kind} {target}",
        "target": target,
        "because": ["interaction:kg:INTERACTS_WITH/x|y"],
    }
    return {
        "proposal": proposal,
        "proposal_id": proposal["id"],
        "decision": "approve",
        "comment": "",
        "edits": edits or None,
        "approver": "dr-lin",
        "digest": digest(proposal, edits or None),
        "decided_at": NOW.isoformat(),
        "decision_id": f"dec-{kind}-{target}",
        "thread_id": "thread-1",
        "run_id": "run-1",
    }


async def test_a_hold_and_an_activation_are_one_transaction_with_provenance(
    fhir: tuple[FakeFhirWrites, FhirOutbox],
) -> None:
    fake, outbox = fhir
    assert fake.resources[DRAFT]["status"] == "draft"
    assert fake.resources[ACTIVE]["status"] == "active"
    items = [approved("activate_order", DRAFT), approved("hold_medication", ACTIVE)]
    receipts = await outbox.write(items)
    assert len(fake.transactions) == 1
    assert receipts == [
        [f"{DRAFT}/_history/4", "Provenance/new-1/_history/1"],
        [f"{ACTIVE}/_history/4", "Provenance/new-2/_history/1"],
    ]
    assert fake.resources[DRAFT]["status"] == "active"
    assert fake.resources[ACTIVE]["status"] == "on-hold"
    assert fake.resources[ACTIVE]["meta"]["versionId"] == "4"
    # everything else in the resource is as it was
    assert fake.resources[ACTIVE]["medicationCodeableConcept"]
    provenance = [r for r in fake.created if r["resourceType"] == "Provenance"]
    assert [p["target"][0]["reference"] for p in provenance] == [DRAFT, ACTIVE]
    for p, item in zip(provenance, items, strict=True):
        assert p["agent"][0]["who"]["display"] == "dr-lin"
        assert p["agent"][0]["type"]["coding"][0]["code"] == "author"
        assert p["entity"][0]["what"]["identifier"]["value"] == item["digest"]
        assert p["recorded"] == NOW.isoformat()


async def test_a_dose_adjustment_is_a_task_not_a_rewritten_order(
    fhir: tuple[FakeFhirWrites, FhirOutbox],
) -> None:
    fake, outbox = fhir
    before = dict(fake.resources[ACTIVE])
    await outbox.write([approved("adjust_dose", ACTIVE, dose="lisinopril 10 mg")])
    assert fake.resources[ACTIVE] == before
    [task, provenance] = fake.created
    assert (task["resourceType"], task["intent"], task["status"]) == ("Task", "order", "requested")
    assert task["focus"] == {"reference": ACTIVE}
    assert "lisinopril 10 mg" in task["description"]
    assert provenance["target"][0]["reference"] == f"Task/{task['id']}"  # the new Task


async def test_a_record_changed_since_it_was_read_is_not_overwritten(
    fhir: tuple[FakeFhirWrites, FhirOutbox],
) -> None:
    fake, outbox = fhir
    fake.stale_reads = True
    with pytest.raises(FhirWriteFailed, match=r"HTTP 412 .*is at"):
        await outbox.write([approved("activate_order", DRAFT), approved("hold_medication", ACTIVE)])
    assert fake.resources[DRAFT]["status"] == "draft"  # nothing applied, not even the first
    assert fake.resources[ACTIVE]["status"] == "active"
    assert fake.created == []


async def test_an_order_in_a_final_state_is_refused_before_anything_is_sent(
    fhir: tuple[FakeFhirWrites, FhirOutbox],
) -> None:
    fake, outbox = fhir
    fake.resources[ACTIVE]["status"] = "stopped"
    with pytest.raises(FhirWriteFailed, match="is stopped: not changed to on-hold"):
        await outbox.write([approved("hold_medication", ACTIVE)])
    assert fake.transactions == []


async def test_an_unreachable_server_is_a_clear_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http:
        with pytest.raises(FhirWriteFailed, match="unreachable: ConnectError"):
            await FhirOutbox(BASE, http).write([approved("hold_medication", ACTIVE)])


async def test_an_approval_that_cannot_be_recorded_stays_pending_until_it_can(
    fhir: tuple[FakeFhirWrites, FhirOutbox], scripted_model: Any, round_deps: DepsFactory
) -> None:
    fake, outbox = fhir
    graph = approval_graph(round_deps, scripted_model, outbox)
    asked = await ask(graph, patient_id=PAUSING, question="Can we give the co-amoxiclav?")
    [proposal] = asked.proposals
    decision = ApprovalResume(
        approver=Approver(id="dr-lin", name="Dr Lin", role="clinician", wards=["7A"]),
        decisions=[Decision(proposal_id=proposal.id, decision="approve")],
    )
    fake.refuse_with = 503
    with pytest.raises(DecisionNotRecorded, match="HTTP 503") as refused:
        await resume(graph, thread_id=asked.thread_id, decision=decision)
    assert (refused.value.http_status, refused.value.title) == (502, "FHIR write failed")
    state = await graph.aget_state({"configurable": {"thread_id": asked.thread_id}})
    assert state.interrupts  # still waiting for a decision that can be recorded
    assert fake.resources[DRAFT]["status"] == "draft"
    fake.refuse_with = None
    done = await resume(graph, thread_id=asked.thread_id, decision=decision)
    assert [d.decision for d in done.decisions] == ["approve"]
    assert fake.resources[DRAFT]["status"] == "active"
    # the decision says where it was recorded (audited with it)
    assert done.decisions[0].recorded_as == [
        f"{DRAFT}/_history/4",
        "Provenance/new-1/_history/1",
    ]


async def test_the_runtime_takes_its_outbox_from_the_settings(tmp_path: Path) -> None:
    from server.wiring import build_deps

    def outbox(settings: Settings, stack: AsyncExitStack) -> Any:
        return build_deps(settings, use_model=False, use_kg=False, closing=stack).outbox

    async with AsyncExitStack() as stack:
        default = outbox(Settings(data_dir=tmp_path), stack)
        assert isinstance(default, JsonlOutbox)
        assert default.path == tmp_path / "outbox.jsonl"
        with pytest.raises(ConfigurationError, match="WARDROUND_FHIR_URL"):
            outbox(Settings(data_dir=tmp_path, outbox="fhir"), stack)
        fhir = outbox(Settings(data_dir=tmp_path, outbox="fhir", fhir_url=BASE), stack)
        assert isinstance(fhir, FhirOutbox)
        assert fhir.base_url == BASE


async def test_the_fhir_client_carries_the_token_and_never_shows_it(tmp_path: Path) -> None:
    from server.wiring import fhir_http

    settings = Settings(data_dir=tmp_path, fhir_url=BASE, fhir_token="s3cret-token")
    async with fhir_http(settings) as http:
        assert http.headers["Authorization"] == "Bearer s3cret-token"
        assert http.timeout.read == 30
    assert "s3cret-token" not in repr(settings)
    assert "s3cret-token" not in settings.model_dump_json()
    async with fhir_http(Settings(data_dir=tmp_path, fhir_url=BASE)) as anonymous:
        assert "Authorization" not in anonymous.headers


async def test_a_replayed_decision_is_recognised_and_not_written_twice(
    fhir: tuple[FakeFhirWrites, FhirOutbox],
) -> None:
    """Issue 17 item 2: the same decision (same id) sent again after a crash between the write
    and the checkpoint finds its Provenance and writes nothing."""
    fake, outbox = fhir
    items = [approved("activate_order", DRAFT), approved("adjust_dose", ACTIVE, dose="10 mg")]
    first = await outbox.write(items)
    assert first == [
        [f"{DRAFT}/_history/4", "Provenance/new-1/_history/1"],
        ["Task/new-2/_history/1", "Provenance/new-3/_history/1"],
    ]
    provenance = fake.created[0]
    ids = {e["what"]["identifier"]["system"]: e["what"]["identifier"]["value"]
           for e in provenance["entity"]}  # fmt: skip
    assert ids["urn:wardround:decision"] == items[0]["decision_id"]
    assert (ids["urn:wardround:thread"], ids["urn:wardround:run"]) == ("thread-1", "run-1")
    assert fake.created[1]["identifier"] == [
        {"system": "urn:wardround:decision", "value": items[1]["decision_id"]}
    ]
    again = await outbox.write(items)
    assert len(fake.transactions) == 1  # nothing sent the second time
    assert fake.resources[DRAFT]["meta"]["versionId"] == "4"
    assert again == [[DRAFT, "Provenance/new-1"], ["Task/new-2", "Provenance/new-3"]]
