"""The auditor's trace viewer at /audit, end to end: a real server with a real audit store, a
real (curated) knowledge graph and a scripted model; a clinician asks through the HTTP API, then an
auditor signs in to the viewer in headless Chromium, filters, opens the run, expands a model call,
follows citations to their evidence; a clinician is turned away. Plus the evidence route the
viewer uses, and the page's read-only and no-markup guarantees."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fhir.resources.R4B.bundle import Bundle

from core.settings import Settings
from kg.store import GraphStore
from server.app import create_app
from server.auth import RateLimit, TokenStore
from server.routes.page import STATIC
from server.wiring import open_runtime
from tests.audit.kg_round import PATIENT, curated_kg, guideline_model
from tests.server.browser import Page, chromium, needs_chromium, running, save_screenshot
from tests.server.conftest import NOW, OTHER, OWN, PRINCIPALS, ShippedPatients

# the question carries markup: the viewer must show it as text, never build elements from it
QUESTION = 'What is driving the potassium? <b id="injected">Q-42</b>'


@dataclass
class AuditedServer:
    app: FastAPI
    client: httpx.AsyncClient
    tokens: dict[str, str]
    run_id: str
    patients: ShippedPatients

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


@pytest.fixture(scope="module")
def kg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphStore]:
    store = curated_kg(tmp_path_factory.mktemp("kg"))
    yield store
    store.close()


@pytest.fixture
async def audited(
    tmp_path: Path, kg: GraphStore, scripted_model: Any
) -> AsyncIterator[AuditedServer]:
    settings = Settings(data_dir=tmp_path / "data", tokens_file=tmp_path / "tokens.json")
    _, model = scripted_model(guideline_model)
    patients = ShippedPatients([OWN, PATIENT, OTHER])
    store = TokenStore(settings.tokens_file)
    tokens = {who: store.add(p) for who, p in PRINCIPALS.items()}
    async with open_runtime(
        settings, model=model, patients=patients, graph_store=kg, clock=lambda: NOW
    ) as runtime:
        app = create_app(runtime, settings, rate_limit=RateLimit(burst=1000, per_second=100))
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://testserver") as http,
        ):
            clinician = {"Authorization": f"Bearer {tokens['clinician']}"}
            opened = await http.post("/v1/threads", json={"patient_id": PATIENT}, headers=clinician)
            assert opened.status_code in (200, 201), opened.text
            asked = await http.post(
                f"/v1/threads/{opened.json()['id']}/messages",
                json={"content": QUESTION},
                headers={**clinician, "Accept": "application/json"},
            )
            assert asked.status_code == 200, asked.text
            yield AuditedServer(app, http, tokens, asked.json()["run_id"], patients)


async def _tree(server: AuditedServer) -> dict[str, Any]:
    response = await server.client.get(
        f"/v1/audit/runs/{server.run_id}", headers=server.auth("auditor")
    )
    assert response.status_code == 200, response.text
    tree: dict[str, Any] = response.json()
    return tree


def _events(tree: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    stack = list(tree["roots"])
    while stack:
        node = stack.pop()
        found.append(node["event"])
        stack.extend(node["children"])
    return found


async def test_evidence_of_a_kg_citation_is_the_fact_the_run_saw(audited: AuditedServer) -> None:
    events = _events(await _tree(audited))
    queries = {e["event_id"]: e for e in events if e["kind"] == "kg.query"}
    finding = next(
        e
        for e in events
        if e["kind"] == "finding.produced" and e["payload"]["kind"] == "interaction"
    )
    ref = next(c["ref"] for c in finding["payload"]["citations"] if c["kind"] == "kg")
    response = await audited.client.get(
        f"/v1/audit/runs/{audited.run_id}/evidence",
        params={"ref": ref},
        headers=audited.auth("auditor"),
    )
    assert response.status_code == 200, response.text
    evidence = response.json()
    assert (evidence["kind"], evidence["origin"]) == ("kg", "kg.query")
    assert evidence["fact"]["id"] == ref
    assert evidence["source"]
    assert evidence["source"] == evidence["fact"]["source"]
    assert ref in queries[evidence["event_id"]]["payload"]["result_ids"]


async def test_evidence_of_a_fhir_citation_is_the_record_fact(audited: AuditedServer) -> None:
    events = _events(await _tree(audited))
    refs = {
        c["ref"]
        for e in events
        if e["kind"] == "finding.produced"
        for c in e["payload"]["citations"]
        if c["kind"] == "fhir"
    }
    ref = sorted(refs)[0]
    auditor = audited.auth("auditor")
    url = f"/v1/audit/runs/{audited.run_id}/evidence"
    response = await audited.client.get(url, params={"ref": ref}, headers=auditor)
    assert response.status_code == 200, response.text
    evidence = response.json()
    assert (evidence["origin"], evidence["fact"]["ref"]) == ("record", ref)
    assert evidence["source"].endswith(f"{PATIENT}.json")
    assert evidence["since_run"] == "unchanged"
    missing = await audited.client.get(
        url, params={"ref": "Observation/not-there"}, headers=auditor
    )
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    for who in ("clinician", "admin"):
        refused = await audited.client.get(url, params={"ref": ref}, headers=audited.auth(who))
        assert refused.status_code == 403, who
    assert (await audited.client.get(url, params={"ref": ref})).status_code == 401
    nowhere = await audited.client.get(
        "/v1/audit/runs/run-nope/evidence", params={"ref": ref}, headers=auditor
    )
    assert nowhere.status_code == 404


async def test_fhir_evidence_says_whether_the_record_changed_since_the_run(
    audited: AuditedServer,
) -> None:
    """The run wrote a digest of every fact it read; the record is edited afterwards (a result
    corrected, another withdrawn): the auditor sees which citations no longer say what the run
    saw."""
    record = await audited.patients.load(PATIENT)
    numeric = [o for o in record.observations if o.value is not None]
    corrected, withdrawn, kept = numeric[0], numeric[1], numeric[2]
    assert corrected.value is not None
    fixed = corrected.model_copy(update={"value": corrected.value * 2})
    audited.patients.put(
        record.model_copy(
            update={
                "observations": tuple(
                    fixed if o is corrected else o
                    for o in record.observations
                    if o is not withdrawn
                )
            }
        )
    )
    url = f"/v1/audit/runs/{audited.run_id}/evidence"
    seen: dict[str, Any] = {}
    for observation in (corrected, withdrawn, kept):
        response = await audited.client.get(
            url, params={"ref": observation.ref}, headers=audited.auth("auditor")
        )
        assert response.status_code == 200, response.text
        seen[observation.ref] = response.json()
    assert seen[corrected.ref]["since_run"] == "changed"
    assert seen[corrected.ref]["fact"]["value"] == corrected.value * 2  # as it is now
    assert seen[withdrawn.ref]["since_run"] == "removed"
    assert seen[withdrawn.ref]["fact"] == {"ref": withdrawn.ref}
    assert seen[kept.ref]["since_run"] == "unchanged"
    # the digests are in the run's trail: load_record's node.finished
    finished = [
        e
        for e in _events(await _tree(audited))
        if e["kind"] == "node.finished" and e["payload"]["node"] == "load_record"
    ]
    assert len(finished) == 1
    assert set(finished[0]["payload"]["record_digests"]) == record.refs()


async def test_runs_say_how_they_ended_and_filter_on_it(audited: AuditedServer) -> None:
    """The round proposed an order, so it ended paused for a clinician's approval."""
    auditor = audited.auth("auditor")
    listed = await audited.client.get("/v1/audit/runs", headers=auditor)
    assert listed.status_code == 200, listed.text
    [run] = listed.json()["runs"]
    assert (run["run_id"], run["outcome"]) == (audited.run_id, "paused_for_approval")
    for outcome, expected in (("paused_for_approval", [audited.run_id]), ("answered", [])):
        response = await audited.client.get(
            "/v1/audit/runs", params={"outcome": outcome}, headers=auditor
        )
        assert response.status_code == 200, response.text
        assert [r["run_id"] for r in response.json()["runs"]] == expected, outcome
    bad = await audited.client.get("/v1/audit/runs", params={"outcome": "won"}, headers=auditor)
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")


async def test_the_viewer_is_static_read_only_and_never_builds_markup(
    audited: AuditedServer,
) -> None:
    page = await audited.client.get("/audit")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    script = await audited.client.get("/audit/audit.js")
    assert script.headers["content-type"].startswith("text/javascript")
    style = await audited.client.get("/audit/audit.css")
    assert style.headers["content-type"].startswith("text/css")
    helpers = await audited.client.get("/static/dom.js")
    assert helpers.headers["content-type"].startswith("text/javascript")
    for text in (page.text, script.text, helpers.text):
        for forbidden in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write"):
            assert forbidden not in text, forbidden
    assert "<script>" not in page.text  # no inline script: the CSP would refuse it anyway
    assert "method:" not in script.text  # every fetch is a plain GET
    assert (STATIC / "audit.js").read_text("utf-8") == script.text


def _local_minus(hours: int) -> str:
    # a datetime-local value (browser local time), computed in the page
    return (
        f"(() => {{ const d = new Date(Date.now() - {hours} * 3600e3);"
        " d.setMinutes(d.getMinutes() - d.getTimezoneOffset());"
        " return d.toISOString().slice(0, 19); })()"
    )


async def sign_in(page: Page, token: str) -> None:
    # the script is deferred: submitting before its handler is attached would do nothing
    await page.wait_for("document.documentElement?.dataset.viewer === 'ready'")
    await page.js(f"document.getElementById('token').value = {json.dumps(token)}")
    await page.js("document.getElementById('signin').requestSubmit()")


async def filter_runs(page: Page, **fields: str) -> None:
    for name in ("patient", "principal", "since", "until", "outcome"):
        value = fields.get(name, "''")
        await page.js(f"document.getElementById('f-{name}').value = {value}")
    await page.js("document.getElementById('runs').replaceChildren()")
    await page.js("document.getElementById('filters').requestSubmit()")
    await page.wait_for("document.getElementById('runs').children.length > 0")


@needs_chromium
async def test_auditor_traces_a_round_in_the_viewer(audited: AuditedServer, tmp_path: Path) -> None:
    async with running(audited.app) as base, chromium(tmp_path / "profile") as ws:
        page = await Page.open(ws, f"{base}/audit", network=True)
        await sign_in(page, audited.tokens["auditor"])
        await page.wait_for("document.getElementById('verify').classList.contains('ok')")
        assert "Chain verified" in await page.js("document.getElementById('verify').textContent")

        # filters: the wrong patient, a window that ended an hour ago, then the right ones
        await filter_runs(page, patient=json.dumps(OTHER))
        assert await page.js("document.querySelectorAll('.run').length") == 0
        await filter_runs(page, patient=json.dumps(PATIENT), until=_local_minus(1))
        assert await page.js("document.querySelectorAll('.run').length") == 0
        await filter_runs(
            page, patient=json.dumps(PATIENT), principal="'u-a'", since=_local_minus(1)
        )
        runs = await page.js("[...document.querySelectorAll('.run')].map(b => b.dataset.run)")
        assert runs == [audited.run_id]
        # the round proposed an order: it paused for a clinician's approval, and says so
        outcome = await page.js("document.querySelector('.run .outcome').textContent")
        assert outcome == "paused for approval"
        asked = await page.js("document.querySelector('.run .asked').textContent")
        assert asked == QUESTION  # each run shows what it was asked, as text
        await filter_runs(page, patient=json.dumps(PATIENT), outcome="'failed'")
        assert await page.js("document.querySelectorAll('.run').length") == 0
        await filter_runs(page, patient=json.dumps(PATIENT), outcome="'paused_for_approval'")
        assert await page.js("document.querySelectorAll('.run').length") == 1

        # open the run: timeline bars and the tree (nodes → model calls / KG queries)
        await page.js(f"document.querySelector('.run[data-run=\"{audited.run_id}\"]').click()")
        await page.wait_for("document.querySelector('#tree .step[data-kind=\"kg.query\"]')")
        parent_of_query = await page.js(
            "[...document.querySelector('#tree .step[data-kind=\"kg.query\"]').closest('li')"
            ".parentElement.closest('li').querySelectorAll('.step')[0].children]"
            ".map(c => c.textContent).slice(1, 3)"
        )
        assert parent_of_query == ["guideline", " · tools"]  # the specialist's tools step
        bars = await page.js(
            "[...document.querySelectorAll('#timeline .bar')].map(b => b.className)"
        )
        assert any("node" in b for b in bars)
        assert any("model" in b for b in bars)
        assert any("kg" in b for b in bars)
        nodes = await page.js(
            "[...document.querySelectorAll('#tree .step[data-kind=\"node.started\"] .name')]"
            ".map(n => n.textContent)"
        )
        assert {"load_record", "route", "history", "labs", "guideline", "synthesize"} <= set(nodes)

        # expand the guideline checker's model call: the prompt in, the reply out
        await page.js(
            "[...document.querySelectorAll('#tree .step[data-kind=\"model.call\"]')]"
            ".find(b => b.textContent.includes('guideline')).click()"
        )
        step_in = await page.js("document.getElementById('step-input').textContent")
        step_out = await page.js("document.getElementById('step-output').textContent")
        assert "Role: guideline checker" in step_in
        assert '"response"' in step_out
        assert '"usage"' in step_out

        # a finding's KG citation → the fact the graph returned, with its source
        await page.js(
            "[...document.querySelectorAll('#tree .step[data-kind=\"finding.produced\"]')]"
            ".find(b => b.textContent.includes('interaction')).click()"
        )
        await page.js("document.querySelector('#citations .cite[data-ref^=\"kg:\"]').click()")
        await page.wait_for("document.getElementById('evidence-source').textContent")
        title = await page.js("document.getElementById('evidence-title').textContent")
        assert title.startswith("kg evidence kg:")
        assert "knowledge graph returned it" in title
        assert (await page.js("document.getElementById('evidence-source').textContent")).startswith(
            "Source: "
        )
        await page.js("document.getElementById('evidence-step').click()")
        assert (await page.js("document.getElementById('step-title').textContent")).startswith(
            "kg.query · "
        )

        # a finding's FHIR citation → the record as read now, unchanged since the run
        await page.js(
            "[...document.querySelectorAll('#tree .step[data-kind=\"finding.produced\"]')]"
            ".find(b => b.textContent.includes('interaction')).click()"
        )
        await page.js(
            'document.querySelector(\'#citations .cite:not([data-ref^="kg:"])'
            ':not([data-ref^="calc:"])\').click()'
        )
        await page.wait_for("document.getElementById('evidence-since').textContent")
        since = await page.js("document.getElementById('evidence-since').textContent")
        assert since == "Unchanged since the run read it."
        assert await page.js("document.getElementById('evidence-since').className") == "unchanged"

        # the question's markup is shown as text, never built into the page
        await page.js(
            "document.querySelector('#tree .step[data-kind=\"request.received\"]').click()"
        )
        shown = await page.js("document.getElementById('step-output').textContent")
        assert '<b id=\\"injected\\">Q-42</b>' in shown
        assert await page.js("document.getElementById('injected')") is None
        assert await page.js("document.getElementById('error').textContent") == ""
        shot = await save_screenshot(page, tmp_path, "audit-viewer.png")
        assert shot.stat().st_size > 10_000

        # read-only: every request the page sent was a GET to this server
        # (data: URLs are the browser's own widget icons, not requests)
        sent = [(m, url) for m, url in page.requests() if not url.startswith("data:")]
        assert sent
        assert all(method == "GET" for method, _ in sent), sent
        assert [url for _, url in sent if not url.startswith(base)] == []
        assert any("/evidence?" in url for _, url in sent)


@needs_chromium
async def test_a_clinician_is_turned_away_from_the_viewer(
    audited: AuditedServer, tmp_path: Path
) -> None:
    async with running(audited.app) as base, chromium(tmp_path / "profile") as ws:
        page = await Page.open(ws, f"{base}/audit", network=True)
        await sign_in(page, audited.tokens["clinician"])
        await page.wait_for("document.getElementById('error').textContent")
        error = await page.js("document.getElementById('error').textContent")
        assert error.startswith("Not an auditor:")
        assert "auditor role only" in error
        assert await page.js("document.getElementById('viewer').hidden") is True
        assert await page.js("document.querySelectorAll('.run').length") == 0
        api = [url for _, url in page.requests() if "/v1/" in url]
        assert api == [f"{base}/v1/audit/verify"]


async def test_a_round_with_kg_queries_exports_as_valid_fhir(audited: AuditedServer) -> None:
    response = await audited.client.get(
        "/v1/audit/export", params={"run": audited.run_id}, headers=audited.auth("auditor")
    )
    assert response.status_code == 200, response.text
    bundle = Bundle.model_validate(response.json())
    types = {entry.resource.__resource_type__ for entry in bundle.entry or []}
    assert {"AuditEvent", "Provenance"} <= types


@needs_chromium
async def test_the_viewer_fits_a_phone(audited: AuditedServer, tmp_path: Path) -> None:
    async with running(audited.app) as base, chromium(tmp_path / "profile") as ws:
        page = await Page.open(ws, "about:blank")
        await page.send(
            "Emulation.setDeviceMetricsOverride",
            width=390, height=844, deviceScaleFactor=1, mobile=True,
        )  # fmt: skip
        await page.send("Page.navigate", url=f"{base}/audit")
        await sign_in(page, audited.tokens["auditor"])
        await page.wait_for("document.querySelectorAll('.run').length > 0")
        overflow = await page.js(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"the viewer scrolls sideways by {overflow}px on a phone"
        await save_screenshot(page, tmp_path, "audit-phone.png")
