"""Scale-out (ARCHITECTURE §6): two API replicas, each a real HTTP server, share PostgreSQL for
checkpoints, the thread table and the audit store. A thread opened and paused on one replica is
read and approved on the other; two questions on one thread sent to both replicas at once run
one after the other; the one audit chain both replicas wrote verifies. Needs PostgreSQL at
127.0.0.1:5432 (trust auth, database ``test``), as CI has; each test uses its own schemas."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.audit import AuditStore, EventKind
from core.model.transcript_server import Fault
from core.settings import Settings
from server.app import create_app
from server.auth import RateLimit, TokenStore
from server.thread_store import ThreadStore
from server.wiring import open_runtime
from tests.server.browser import running
from tests.server.conftest import NOW, OWN, PAUSING, PRINCIPALS, ShippedPatients, ward_model

pytestmark = pytest.mark.postgres
PG = "postgresql://postgres@127.0.0.1:5432/test"
PROPOSAL = "activate:MedicationRequest/penicillin-allergy-betalactam-medreq-1"
JSON = {"Accept": "application/json"}


def _schema_dsn(schema: str) -> str:
    return f"{PG}?options=-csearch_path%3D{schema}"


@pytest.fixture
def schemas() -> Iterator[tuple[str, str]]:
    """Fresh schemas for the checkpoints (with the thread table) and for the audit store."""
    psycopg = pytest.importorskip("psycopg", reason="the postgres extra is not installed")
    names = [f"scale_{kind}_{uuid.uuid4().hex[:10]}" for kind in ("state", "audit")]
    try:
        with psycopg.connect(PG, connect_timeout=2, autocommit=True) as conn:
            for name in names:
                conn.execute(f'CREATE SCHEMA "{name}"')
    except psycopg.OperationalError:
        pytest.skip("PostgreSQL at 127.0.0.1:5432 is not available")
    yield (
        _schema_dsn(names[0]),
        f"{_schema_dsn(names[1])}".replace("postgresql://", "postgresql+psycopg://"),
    )
    with psycopg.connect(PG, autocommit=True) as conn:
        for name in names:
            conn.execute(f'DROP SCHEMA "{name}" CASCADE')


@dataclass
class Replica:
    name: str
    base: str
    http: httpx.AsyncClient
    model_server: Any
    settings: Settings

    async def post(self, path: str, body: dict[str, Any], who: str, **headers: str) -> Any:
        return await self.http.post(
            f"{self.base}{path}", json=body, headers={**self.auth(who), **headers}
        )

    async def get(self, path: str, who: str) -> Any:
        return await self.http.get(f"{self.base}{path}", headers=self.auth(who))

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {TOKENS[who]}"}


TOKENS: dict[str, str] = {}


@pytest.fixture
async def replicas(
    tmp_path: Path, schemas: tuple[str, str], scripted_model: Any
) -> AsyncIterator[tuple[Replica, Replica]]:
    state_dsn, audit_dsn = schemas
    tokens_file = tmp_path / "tokens.json"  # shared, as a mounted secret would be
    store = TokenStore(tokens_file)
    TOKENS.clear()
    TOKENS.update({who: store.add(p) for who, p in PRINCIPALS.items()})
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(httpx.AsyncClient(timeout=60))
        built = []
        for name in ("a", "b"):
            settings = Settings(
                data_dir=tmp_path / name,  # nothing shared through the local disk
                tokens_file=tokens_file,
                checkpoint_dsn=state_dsn,
                audit_dsn=audit_dsn,
            )
            model_server, model = scripted_model(ward_model)
            runtime = await stack.enter_async_context(
                open_runtime(
                    settings,
                    model=model,
                    patients=ShippedPatients([OWN, PAUSING]),
                    clock=lambda: NOW,
                )
            )
            app = create_app(runtime, settings, rate_limit=RateLimit(burst=1000, per_second=100))
            stack.callback(app.state.wardround.threads.close)
            base = await stack.enter_async_context(running(app))
            built.append(Replica(name, base, http, model_server, settings))
        yield built[0], built[1]


async def test_a_thread_paused_on_one_replica_is_approved_on_the_other(
    replicas: tuple[Replica, Replica],
) -> None:
    a, b = replicas
    assert a.base != b.base
    opened = await a.post("/v1/threads", {"patient_id": PAUSING}, "clinician_7a")
    assert opened.status_code == 201, opened.text
    thread = opened.json()["id"]
    asked = await a.post(
        f"/v1/threads/{thread}/messages", {"content": "Can we give it?"}, "clinician_7a", **JSON
    )
    assert asked.status_code == 200, asked.text
    assert asked.json()["pending_approval"] is True

    # replica B knows the thread (shared table) and its pause (shared checkpoints)
    read = await b.get(f"/v1/threads/{thread}", "clinician_7a")
    assert read.status_code == 200, read.text
    assert [p["id"] for p in read.json()["pending_approvals"]] == [PROPOSAL]
    assert (await b.get(f"/v1/threads/{thread}", "clinician")).status_code == 404  # scope too

    decided = await b.post(
        f"/v1/threads/{thread}/approvals/{PROPOSAL}",
        {"decision": "approve", "comment": "allergy reviewed"},
        "clinician_7a",
        **JSON,
    )
    assert decided.status_code == 200, decided.text
    assert [d["approver"] for d in decided.json()["decisions"]] == ["u-lin"]
    # the approved write went out through the replica that resumed the round
    written = (b.settings.data_dir / "outbox.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["proposal"]["id"] for line in written] == [PROPOSAL]
    assert not (a.settings.data_dir / "outbox.jsonl").exists()
    after = await a.get(f"/v1/threads/{thread}", "clinician_7a")
    assert after.json()["pending_approvals"] == []

    # one audit chain, written by both replicas, verifies from either
    verified = await a.get("/v1/audit/verify", "auditor")
    assert verified.status_code == 200, verified.text
    report = verified.json()
    assert report["fault"] is None
    assert report["events_checked"] > 20
    runs = (await b.get(f"/v1/audit/runs?patient={PAUSING}", "auditor")).json()["runs"]
    assert len(runs) == 2  # the question (on A) and the approval (on B)


async def test_questions_on_one_thread_through_two_replicas_run_one_after_the_other(
    replicas: tuple[Replica, Replica],
) -> None:
    a, b = replicas
    opened = await a.post("/v1/threads", {"patient_id": OWN}, "clinician")
    thread = opened.json()["id"]
    a.model_server.inject(Fault("delay", delay_s=1.5))  # A's first model call is slow

    async def ask(replica: Replica, marker: str, after_s: float) -> Any:
        await asyncio.sleep(after_s)
        return await replica.post(
            f"/v1/threads/{thread}/messages",
            {"content": f"How is he? {marker}"},
            "clinician",
            **JSON,
        )

    first, second = await asyncio.gather(ask(a, "Q-1", 0.0), ask(b, "Q-2", 0.3))
    assert first.status_code == second.status_code == 200, (first.text, second.text)
    assert first.json()["answer"].startswith("Answer for Q-1")
    assert second.json()["answer"].startswith("Answer for Q-2")

    # the audit trail shows the two runs one after the other, not interleaved
    audit = AuditStore.open(b.settings.audit_dsn or "")
    try:
        events = [e for e in await audit.events() if e.thread_id == thread]
    finally:
        audit.close()
    spans = {}
    for e in events:
        if e.kind in (EventKind.REQUEST_RECEIVED, EventKind.REQUEST_ANSWERED):
            spans.setdefault(e.run_id, []).append(e.ts)
    (_, end_1), (start_2, _) = sorted(spans.values())
    assert end_1 <= start_2, "the second replica's run began before the first one answered"
    # the conversation holds both turns, in order, whichever replica reads it
    read = await b.get(f"/v1/threads/{thread}", "clinician")
    contents = [m["content"] for m in read.json()["messages"] if m["role"] == "user"]
    assert contents == ["How is he? Q-1", "How is he? Q-2"]


async def test_the_thread_writer_lock_spans_stores_and_survives_a_cancelled_waiter(
    schemas: tuple[str, str],
) -> None:
    """Two stores on one database stand for two replicas: the second waits for the first."""
    state_dsn, _ = schemas
    one, two, three = (ThreadStore(state_dsn) for _ in range(3))
    try:
        assert one.shared
        held = one.writer("thread-x")
        await held.__aenter__()
        waiting = asyncio.create_task(_enter_and_leave(two, "thread-x"))
        await asyncio.sleep(0.3)
        assert not waiting.done()  # another replica holds the thread
        waiting.cancel()  # the client went away while waiting
        with pytest.raises(asyncio.CancelledError):
            await waiting
        other = await asyncio.wait_for(_enter_and_leave(three, "thread-y"), 2)
        assert other == "thread-y"  # other threads are not blocked
        await held.__aexit__(None, None, None)
        assert await asyncio.wait_for(_enter_and_leave(three, "thread-x"), 2) == "thread-x"
    finally:
        for store in (one, two, three):
            store.close()


async def _enter_and_leave(store: ThreadStore, thread_id: str) -> str:
    async with store.writer(thread_id):
        return thread_id
