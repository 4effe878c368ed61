"""A hospital deployment, configured only through settings: records read from a FHIR server and
approved writes recorded on it, every request authorized by SMART Backend Services. The EHR is a
real HTTP server on a local port (the FHIR read, write and authorization fakes of tests/tools,
behind a middleware that refuses any FHIR request without a token the fake issued); wardround is
the runtime ``open_runtime`` builds from ``Settings``, as ``wardround serve`` does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from agents.approvals import ApprovalResume, Approver, Decision
from core.settings import Settings
from graphs.run import ask, resume
from server.app import create_app
from server.auth import Principal, TokenStore, tokens_path
from server.wiring import open_runtime
from tests.server.browser import running
from tests.tools.test_fhir_outbox import DRAFT, PAUSING, FakeFhirWrites
from tests.tools.test_fhir_smart import CLIENT, RSA_KEY, FakeAuthServer, pem
from tests.tools.test_fhir_sources import FakeFhir


@dataclass
class Ehr:
    base: str
    reads: FakeFhir
    writes: FakeFhirWrites
    auth: FakeAuthServer
    refused: list[str]


def ehr_app(ehr: Ehr) -> Starlette:
    """Reads, writes and the token endpoint on one origin; FHIR calls need a live token."""
    routes = [
        *ehr.auth.app().routes[:2],  # .well-known/smart-configuration, /auth/token
        *ehr.reads.app().routes[:2],  # Patient/{pid}/$everything, Patient/{pid}
        *ehr.writes.app().routes,  # {rtype}/{rid} read, transaction POST
        *ehr.reads.app().routes[2:],  # per-type searches
    ]

    async def authorized(request: Request, call_next: Any) -> Response:
        path = request.url.path
        if path.startswith("/fhir") and ".well-known" not in path:
            token = request.headers.get("authorization", "").removeprefix("Bearer ")
            if token not in ehr.auth.issued or token in ehr.auth.revoked:
                ehr.refused.append(path)
                return JSONResponse({"resourceType": "OperationOutcome"}, status_code=401)
        response: Response = await call_next(request)
        return response

    return Starlette(
        routes=routes, middleware=[Middleware(BaseHTTPMiddleware, dispatch=authorized)]
    )


@pytest.fixture
async def ehr() -> AsyncIterator[Ehr]:
    made = Ehr("", FakeFhir.over(PAUSING), FakeFhirWrites.over(PAUSING), FakeAuthServer(), [])
    async with running(ehr_app(made)) as base:
        made.base = base
        made.auth.token_url = f"{base}/auth/token"
        yield made


async def test_read_from_and_record_on_the_fhir_server_with_smart_auth(
    ehr: Ehr, tmp_path: Path
) -> None:
    key = tmp_path / "wardround-client.pem"
    key.write_text(pem(RSA_KEY), encoding="utf-8")
    settings = Settings(
        data_dir=tmp_path / "data",
        fhir_url=f"{ehr.base}/fhir",
        fhir_client_id=CLIENT,
        fhir_private_key_file=key,
        outbox="fhir",
    )
    async with open_runtime(settings, use_model=False) as runtime:
        # readiness sees the EHR: its CapabilityStatement, read with a SMART token
        admin = TokenStore(tokens_path(settings)).add(
            Principal(id="u-adm", name="Admin", role="admin")
        )
        app = create_app(runtime, settings)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://wardround") as http:
            ready = await http.get("/readyz", headers={"Authorization": f"Bearer {admin}"})
        app.state.wardround.threads.close()
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"]["records"] == {"ok": True, "fhir_version": "4.0.1"}
        asked = await ask(
            runtime.graph,
            patient_id=PAUSING,
            question="Can we give the co-amoxiclav?",
            audit=runtime.audit,
        )
        assert asked.pending_approval
        [proposal] = asked.proposals
        assert proposal.target == DRAFT
        decision = ApprovalResume(
            approver=Approver(id="dr-lin", name="Dr Lin", role="clinician", wards=["7A"]),
            decisions=[Decision(proposal_id=proposal.id, decision="approve")],
        )
        done = await resume(
            runtime.graph, thread_id=asked.thread_id, decision=decision, audit=runtime.audit
        )
    # the record came from the server (through SMART), the write went back to it
    assert any(p.endswith("/$everything") for p in ehr.reads.requests)
    assert ehr.writes.resources[DRAFT]["status"] == "active"
    [provenance] = [r for r in ehr.writes.created if r["resourceType"] == "Provenance"]
    assert provenance["agent"][0]["who"]["display"] == "dr-lin"
    assert done.decisions[0].recorded_as == [
        f"{DRAFT}/_history/4",
        "Provenance/new-1/_history/1",
    ]
    assert ehr.refused == []  # every FHIR request carried a token the EHR issued
    assert len(ehr.auth.issued) == 2  # one for the record source, one for the outbox
    assert not (settings.data_dir / "outbox.jsonl").exists()
