"""Hostile records cannot break the ward: the corpus of ``hostile_corpus`` (malformed, deeply
nested, unknown types, non-UTF-8, duplicate and missing ids, cyclic references, path traversal,
Cypher-looking names) sits in the patients directory beside two good patients, and

- the ward list and the facade's model list still answer, with the good patients, and the
  unreadable bundles are named to administrators in ``/readyz``;
- a clinician on the ward gets a record, a clear problem, or (for a bundle that cannot be read,
  so has no ward) the 404 of a missing patient; a thread is never left half written;
- a clinician off the ward gets the same status and body as for a missing patient, audited;
- ``wardround ask`` on each file ends with an answer or a clear error, never a traceback.

Real server (``open_runtime`` from settings, as ``wardround serve``), real files, real SQLite.
"""

from __future__ import annotations

import shutil
import statistics
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from core.audit import EventKind
from core.settings import SHIPPED_DATA, Settings
from server.app import create_app
from server.auth import Principal, RateLimit, TokenStore
from server.cli import app as cli_app
from server.wiring import open_runtime
from tests.server.hostile_corpus import Hostile, corpus, write

GOOD = ["aki-on-ckd", "hf-exacerbation"]  # wards 7B and 5B
ON_WARD = Principal(id="u-a", name="Dr A", role="clinician", wards=("7B",))
OFF_WARD = Principal(id="u-b", name="Dr B", role="clinician", wards=("5B",))
ADMIN = Principal(id="u-adm", name="Admin", role="admin")


@dataclass
class Ward:
    http: httpx.AsyncClient
    tokens: dict[str, str]
    corpus: list[Hostile]
    patients: Path
    runtime: Any

    def auth(self, who: Principal) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who.id]}"}


@pytest.fixture
async def ward(tmp_path: Path) -> AsyncIterator[Ward]:
    patients = tmp_path / "patients"
    corpus = write(patients)
    for good in GOOD:
        shutil.copy(SHIPPED_DATA / "patients" / f"{good}.json", patients)
    settings = Settings(
        data_dir=tmp_path / "data", tokens_file=tmp_path / "tokens.json", patients_dir=patients
    )
    store = TokenStore(settings.tokens_file)
    tokens = {p.id: store.add(p) for p in (ON_WARD, OFF_WARD, ADMIN)}
    async with open_runtime(settings, use_model=False) as runtime:
        app = create_app(runtime, settings, rate_limit=RateLimit(burst=10_000, per_second=1_000))
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://testserver", timeout=120
            ) as http,
        ):
            yield Ward(http, tokens, corpus, patients, runtime)


def test_the_corpus_is_large_and_varied() -> None:
    items = corpus()
    assert len(items) >= 35
    assert {
        "deep nesting",
        "unknown resourceType",
        "wrong types",
        "missing ids",
        "duplicate ids",
        "cyclic references",
        "non-UTF-8",
        "not JSON",
        "path traversal",
        "Cypher-looking names",
    } <= {item.kind for item in items}


def readable(ward: Ward) -> set[str]:
    """The corpus bundles the source reads (the others it names as unreadable)."""
    listing = ward.runtime.deps.patients.unreadable.listing()
    unreadable = {row["file"].removesuffix(".json") for row in listing}
    return {item.name for item in ward.corpus} - unreadable


async def test_the_ward_list_and_the_models_survive_every_bad_file(ward: Ward) -> None:
    listed = await ward.http.get("/v1/patients", headers=ward.auth(ON_WARD))
    assert listed.status_code == 200, listed.text
    ids = {p["id"] for p in listed.json()}
    assert "aki-on-ckd" in ids  # the good patient of 7B
    assert ids - {"aki-on-ckd"} == readable(ward)  # the readable hostile ones, all on 7B
    assert {"deep-extension", "unknown-type", "latin-1"}.isdisjoint(ids)
    # a bundle whose Patient.id ("x") differs is listed under its file name, which opens it
    assert "id-differs-from-file" in ids
    assert "x" not in ids
    models = await ward.http.get("/v1/models", headers=ward.auth(ON_WARD))
    assert models.status_code == 200, models.text
    assert "wardround/aki-on-ckd" in {m["id"] for m in models.json()["data"]}
    # administrators see which bundles could not be read, and why; clinicians only how many
    admin = (await ward.http.get("/readyz", headers=ward.auth(ADMIN))).json()
    named = {row["file"]: row["problem"] for row in admin["checks"]["records"]["unreadable"]}
    assert named["deep-extension.json"] == "InvalidFhir at Bundle"
    assert named["unknown-type.json"].startswith("InvalidFhir at Bundle.entry[")
    assert len(named) == len(ward.corpus) - len(readable(ward))
    other = (await ward.http.get("/readyz", headers=ward.auth(ON_WARD))).json()
    assert other["checks"]["records"]["unreadable"] == len(named)


async def test_each_bundle_gives_a_record_or_a_clear_error(ward: Ward) -> None:
    await ward.http.get("/v1/patients", headers=ward.auth(ON_WARD))  # every file read once
    outcomes: dict[str, str] = {}
    for item in ward.corpus:
        outcomes[item.name] = await ask_on_ward(ward, item.name)
    server_errors = {name: o for name, o in outcomes.items() if o.startswith("5")}
    assert not server_errors, server_errors
    assert {outcomes[name] for name in readable(ward)} == {"201 200 thread ok"}
    unread = {outcomes[i.name] for i in ward.corpus if i.name not in readable(ward)}
    assert unread == {"404"}


async def ask_on_ward(ward: Ward, patient_id: str) -> str:
    """Open a thread and ask, as the clinician of 7B; a compact outcome for the table."""
    auth = ward.auth(ON_WARD)
    opened = await ward.http.post("/v1/threads", json={"patient_id": patient_id}, headers=auth)
    if opened.status_code != 201:
        assert opened.headers["content-type"] == "application/problem+json"
        return str(opened.status_code)
    thread = opened.json()["id"]
    asked = await ward.http.post(
        f"/v1/threads/{thread}/messages",
        json={"content": "Why is the creatinine rising?"},
        headers={**auth, "Accept": "application/json"},
    )
    read = await ward.http.get(f"/v1/threads/{thread}", headers=auth)
    turns = len(read.json().get("messages", [])) if read.status_code == 200 else -1
    whole = "thread ok" if turns == (2 if asked.status_code == 200 else 0) else f"{turns} msgs"
    return f"201 {asked.status_code} {whole}"


async def test_off_the_ward_a_bad_bundle_is_a_missing_patient(ward: Ward) -> None:
    auth = ward.auth(OFF_WARD)
    missing = await ward.http.post("/v1/threads", json={"patient_id": "nobody"}, headers=auth)
    assert missing.status_code == 404
    for item in ward.corpus:
        response = await ward.http.post("/v1/threads", json={"patient_id": item.name}, headers=auth)
        assert response.status_code == 404, (item.name, response.text)
        assert response.json() == _renamed(missing.json(), "nobody", item.name), item.name
    events = await ward.runtime.audit.events()
    refused = [
        e.patient_id
        for e in events
        if e.kind == EventKind.ACCESS and e.principal_id == OFF_WARD.id
        and e.payload.get("allowed") is False
    ]  # fmt: skip
    assert set(refused) == {"nobody"} | {item.name for item in ward.corpus}


def _renamed(body: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    return {
        k: v.replace(repr(old), repr(new)) if isinstance(v, str) else v for k, v in body.items()
    }


async def test_off_the_ward_existing_and_missing_take_the_same_time(ward: Ward) -> None:
    auth = ward.auth(OFF_WARD)

    async def took(patient_id: str) -> float:
        started = time.perf_counter()
        response = await ward.http.post(
            "/v1/threads", json={"patient_id": patient_id}, headers=auth
        )
        assert response.status_code == 404
        return time.perf_counter() - started

    await took("aki-on-ckd")  # the first look reads the directory once, for everyone
    existing, missing = [], []
    for _ in range(40):  # interleaved, so the machine's load falls on both alike
        existing.append(await took("aki-on-ckd"))
        missing.append(await took("nobody-here"))
    # the lower quartile: what a request costs when the shared machine lets it run (a median
    # moved with the other work on two cores and failed a run once); a leak shifts every request
    a, b = (statistics.quantiles(times, n=4)[0] for times in (existing, missing))
    # before: 14-15 ms against 5-6 ms (the existing record was parsed for the ward check)
    assert abs(a - b) < 0.002 + 0.3 * min(a, b), (a, b)


def test_ask_on_each_bundle_file_ends_cleanly(tmp_path: Path) -> None:
    runner = CliRunner()
    for item in write(tmp_path / "corpus"):
        result = runner.invoke(
            cli_app,
            ["ask", "--patient", str(tmp_path / "corpus" / f"{item.name}.json"), "--no-model",
             "--json", "Why?"],
            env={"WARDROUND_DATA_DIR": str(tmp_path / "data")},
        )  # fmt: skip
        assert result.exit_code in (0, 2), (item.name, result.output[-2000:])
        assert result.exception is None or isinstance(result.exception, SystemExit), item.name
        assert "Traceback" not in result.output, item.name
