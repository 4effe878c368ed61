"""schemathesis against the live server's OpenAPI document (issue 17): every operation, with
valid auth, on generated valid and invalid input: no 5xx, and every answer is one the document
declares (status code, content type, body schema and headers).

The server is the real one: ``create_app`` opening its runtime from ``Settings`` (as ``wardround
serve`` does), served by uvicorn on a loopback port in a thread of its own, over a real SQLite
data dir, the shipped patient bundles and a scripted model served over real HTTP. Tokens come
from a tokens file as in the other server tests: a clinician (ward 7A) for the ward's operations,
an auditor for ``/v1/audit``. The rate limit is raised so that the run tests the API, not the
limiter (429 is tested in ``test_auth.py``).

Bounded: ``EXAMPLES`` per operation and generation mode, derandomized (the same cases every run),
no shrinking (a failure is recorded with its case and the run goes on, so one report lists all).
Not among the checks: ``positive_data_acceptance`` (generated ids name no thread or patient, and
the answer to those is the documented 404) and ``negative_data_rejection`` (a query parameter the
API does not know is ignored, as HTTP APIs do, and a "null" that schemathesis counts as invalid
arrives as the string ``null``); invalid input is still sent, and its answer must be documented.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from core.model.transcript_server import TranscriptServer
from core.settings import Settings
from server.app import create_app
from server.auth import Principal, RateLimit, TokenStore
from tests.server.conftest import PAUSING, ward_model

EXAMPLES = 6
"""Generated cases per operation and generation mode (positive, negative)."""
START_TIMEOUT_S = 60.0
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
CLINICIAN = Principal(id="u-lin", name="Dr Lin", role="clinician", wards=("7A",))
AUDITOR = Principal(id="u-aud", name="Auditor", role="auditor")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Live:
    url: str
    tokens: dict[str, str]
    known: dict[str, str] = field(default_factory=dict)
    """Ids that exist (a paused thread of a patient on the clinician's ward, its proposal, a run,
    a model), put in place of generated ones in about half the cases, so that the run reaches
    past the 404 of an unknown id."""

    def with_known_ids(self, case: schemathesis.Case) -> None:
        for container in (case.path_parameters, case.query, case.headers):
            if not isinstance(container, dict):
                continue
            for name in container:
                if name.lower() in self.known:
                    container[name] = self.known[name.lower()]
        if isinstance(case.body, dict) and "patient_id" in case.body:
            case.body["patient_id"] = self.known["patient_id"]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    tmp: Path = tmp_path_factory.mktemp("schemathesis")
    model = TranscriptServer(script=ward_model, model_name="scripted").serve()
    settings = Settings(
        data_dir=tmp / "data",
        tokens_file=tmp / "tokens.json",
        model_base_url=f"{model.url}/v1",
        model_name="scripted",
    )
    store = TokenStore(tmp / "tokens.json")
    tokens = {p.role: store.add(p) for p in (CLINICIAN, AUDITOR)}
    app = create_app(None, settings, rate_limit=RateLimit(burst=100_000, per_second=10_000.0))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="on", log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="wardround-uvicorn", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                auth = {"Authorization": f"Bearer {tokens['clinician']}"}
                if httpx.get(f"{url}/v1/patients", headers=auth, timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            raise AssertionError("the server did not start in time")
        yield Live(url=url, tokens=tokens, known=known_ids(url, tokens["clinician"]))
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        model.stop()


def known_ids(url: str, token: str) -> dict[str, str]:
    """A thread paused on a proposal (ward 7A's allergy patient), and what names it."""
    auth = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    thread = httpx.post(f"{url}/v1/threads", json={"patient_id": PAUSING}, headers=auth).json()
    asked = httpx.post(
        f"{url}/v1/threads/{thread['id']}/messages",
        json={"content": "Can we give the co-amoxiclav?"},
        headers=auth,
        timeout=60,
    ).json()
    assert asked["pending_approval"] is True, asked
    model = httpx.get(f"{url}/v1/models", headers=auth).json()["data"][0]["id"]
    return {
        "patient_id": PAUSING,
        "patient": PAUSING,
        "x-wardround-patient": PAUSING,
        "thread_id": thread["id"],
        "x-wardround-thread": thread["id"],
        "proposal_id": asked["proposals"][0]["id"],
        "run_id": asked["run_id"],
        "run": asked["run_id"],
        "model_id": str(model),
    }


@dataclass
class Tally:
    calls: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    by_mode: Counter[str] = field(default_factory=Counter)
    failures: dict[str, str] = field(default_factory=dict)
    """operation and failure title -> the first report of it."""
    no_invalid_input: list[str] = field(default_factory=list)
    """Operations that take no input, so have no negative cases."""


def run_operation(live: Live, operation: schemathesis.APIOperation, tally: Tally) -> None:
    token = live.tokens["auditor" if operation.path.startswith("/v1/audit") else "clinician"]
    headers = {"Authorization": f"Bearer {token}"}
    for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
        label = f"{operation.label} [{mode.value}]"

        @hypothesis_settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode), known=st.booleans())
        def exercise(case: schemathesis.Case, known: bool) -> None:
            if known:
                live.with_known_ids(case)
            response = case.call(base_url=live.url, headers=headers, timeout=60)
            tally.calls[operation.label] += 1
            tally.statuses[response.status_code] += 1
            tally.by_mode[f"{label} {response.status_code}"] += 1  # noqa: B023 - run at once
            try:
                case.validate_response(response, checks=CHECKS, headers=headers)
            except (FailureGroup, AssertionError) as failed:  # record, and go on
                for failure in getattr(failed, "exceptions", [failed]):
                    title = getattr(failure, "title", type(failure).__name__)
                    key = f"{label} {title}"  # noqa: B023 - exercise() runs in this iteration
                    tally.failures.setdefault(key, str(failure)[:2000])

        try:
            exercise()
        except Unsatisfiable:  # no parameters, no body: no invalid request can be made
            assert mode.is_negative, operation.label
            tally.no_invalid_input.append(operation.label)


def test_every_operation_answers_as_documented(live: Live) -> None:
    schema = schemathesis.openapi.from_url(f"{live.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 18
    tally = Tally()
    for operation in operations:
        run_operation(live, operation, tally)
    for key, count in sorted(tally.by_mode.items()):
        print(f"  {key}: {count}")
    print(
        f"schemathesis: {len(operations)} operations, {sum(tally.calls.values())} cases, "
        f"statuses {dict(sorted(tally.statuses.items()))}, {len(tally.failures)} failures"
    )
    assert set(tally.calls) == {op.label for op in operations}  # every operation was exercised
    assert not [s for s in tally.statuses if s >= 500]
    assert not tally.failures, "\n\n".join(f"{k}:\n{v}" for k, v in tally.failures.items())


def test_the_deliberate_5xx_answers_are_documented(live: Live) -> None:
    """502/503/504 are answers the API gives on purpose (a service behind it failed, or the
    outcome of a FHIR write is unknown): documented as problems; /readyz's 503 is its own body.
    500 is documented nowhere: it is never an intended answer."""
    spec = httpx.get(f"{live.url}/openapi.json").json()
    problem = {"$ref": "#/components/schemas/Problem"}
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            responses = op["responses"]
            assert "500" not in responses, (method, path)
            for status in ("502", "503", "504"):
                content = responses[status]["content"]
                if (path, status) == ("/readyz", "503"):
                    assert "application/problem+json" not in content
                else:
                    assert content["application/problem+json"]["schema"] == problem, (path, status)
