"""Kill -9 during an approval or a round, restart: no duplicate write, no stale decision, no lost
question, and the audit chain verifies (issue 17).

``wardround serve`` runs as a real subprocess on loopback, over a scripted model served over real
HTTP. The subprocess's own entry point (``ENTRY``, here) installs a ``core.crash_points`` hook
that SIGKILLs the server where ``CRASH_AT`` names; wardround itself never installs one. Each
server start is bounded (``START_TIMEOUT_S``) and every process is killed at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.audit import AuditStore, EventKind
from core.model.replies import Reply
from core.model.transcript_server import TranscriptServer
from core.settings import Settings
from server.auth import Principal, TokenStore
from tests.server.conftest import PAUSING, ward_model

PROPOSAL = "activate:MedicationRequest/penicillin-allergy-betalactam-medreq-1"
START_TIMEOUT_S = 90.0
ENTRY = (
    "import os, signal\n"
    "from core import crash_points\n"
    "at = os.environ.get('CRASH_AT', '')\n"
    "crash_points.install(lambda p: os.kill(os.getpid(), signal.SIGKILL) if p == at else None)\n"
    "from server.cli import main\n"
    "main()\n"
)
LIN = Principal(id="u-lin", name="Dr Lin", role="clinician", wards=("7A",))
CHEN = Principal(id="u-chen", name="Dr Chen", role="clinician", wards=("7A",))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Ward:
    """One data dir, tokens and a model; ``start`` runs ``wardround serve`` over them."""

    def __init__(self, tmp: Path, model_url: str) -> None:
        self.data_dir = tmp / "data"
        self.port = free_port()
        store = TokenStore(tmp / "tokens.json")
        self.tokens = {p.id: store.add(p) for p in (LIN, CHEN)}
        self.env = {
            **os.environ,
            "WARDROUND_DATA_DIR": str(self.data_dir),
            "WARDROUND_TOKENS_FILE": str(tmp / "tokens.json"),
            "WARDROUND_MODEL_BASE_URL": model_url,
            "WARDROUND_MODEL_NAME": "scripted",
            "WARDROUND_HOST": "127.0.0.1",
            "WARDROUND_PORT": str(self.port),
            "WARDROUND_LOG_LEVEL": "WARNING",
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{self.port}", timeout=60)

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}", "Accept": "application/json"}

    async def start(self, crash_at: str = "") -> None:
        self.proc = subprocess.Popen(  # noqa: ASYNC220 - a server, not a call to wait for
            [sys.executable, "-c", ENTRY, "serve"],
            env={**self.env, "CRASH_AT": crash_at},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = asyncio.get_running_loop().time() + START_TIMEOUT_S
        while asyncio.get_running_loop().time() < deadline:
            assert self.proc.poll() is None, "wardround serve exited while starting"
            with contextlib.suppress(httpx.HTTPError):
                ready = await self.http.get("/v1/patients", headers=self.auth("u-lin"))
                if ready.status_code == 200:
                    return
            await asyncio.sleep(0.3)
        raise AssertionError("wardround serve did not start in time")

    def wait_killed(self) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)

    async def paused_thread(self) -> str:
        opened = await self.http.post(
            "/v1/threads", json={"patient_id": PAUSING}, headers=self.auth("u-lin")
        )
        thread = str(opened.json()["id"])
        asked = await self.http.post(
            f"/v1/threads/{thread}/messages",
            json={"content": "Can we give the co-amoxiclav?"},
            headers=self.auth("u-lin"),
        )
        assert asked.json()["pending_approval"] is True, asked.text
        return thread

    async def decide(self, thread: str, who: str, decision: str) -> httpx.Response:
        body = {"decisions": [{"proposal_id": PROPOSAL, "decision": decision, "comment": who}]}
        return await self.http.post(
            f"/v1/threads/{thread}/approvals", json=body, headers=self.auth(who)
        )

    def outbox(self) -> list[dict[str, Any]]:
        path = self.data_dir / "outbox.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]

    async def audit_events(self) -> tuple[bool, list[Any]]:
        store = AuditStore.from_settings(Settings(data_dir=self.data_dir))
        try:
            return (await store.verify()).ok, await store.events(patient_id=PAUSING)
        finally:
            store.close()


SYNTHESIS_HANGS = threading.Event()
"""Set by the mid-round test: the synthesizer's model call then waits for ``SYNTHESIS_RELEASED``."""
SYNTHESIS_RELEASED = threading.Event()


async def ward_model_that_may_hang(body: dict[str, Any]) -> Reply:
    if body["response_format"]["json_schema"]["name"] == "synthesizer" and SYNTHESIS_HANGS.is_set():
        # held (in a worker thread) until the test, having killed the server, lets it go
        await asyncio.to_thread(SYNTHESIS_RELEASED.wait, 120)
    return ward_model(body)


@pytest.fixture
def model() -> Iterator[tuple[TranscriptServer, str]]:
    server = TranscriptServer(script=ward_model_that_may_hang, model_name="scripted")
    running = server.serve()
    try:
        yield server, f"{running.url}/v1"
    finally:
        running.stop()


@pytest.fixture
async def ward(tmp_path: Path, model: tuple[TranscriptServer, str]) -> AsyncIterator[Ward]:
    made = Ward(tmp_path, model[1])
    try:
        yield made
    finally:
        made.stop()
        await made.http.aclose()


@pytest.mark.parametrize("crash_at", ["decision_taken"])
async def test_a_crash_before_the_decision_is_durable_leaves_it_undone(
    ward: Ward, crash_at: str
) -> None:
    """Killed before the approve step's checkpoint: the decision never happened; the next
    clinician's decision is the one recorded (no stale resume value survives the crash)."""
    await ward.start(crash_at)
    thread = await ward.paused_thread()
    with pytest.raises(httpx.HTTPError):
        await ward.decide(thread, "u-lin", "approve")
    assert ward.wait_killed() == -signal.SIGKILL
    await ward.start()
    read = await ward.http.get(f"/v1/threads/{thread}", headers=ward.auth("u-chen"))
    assert [p["id"] for p in read.json()["pending_approvals"]] == [PROPOSAL]
    decided = await ward.decide(thread, "u-chen", "reject")
    assert decided.status_code == 200, decided.text
    assert [(d["decision"], d["approver"]) for d in decided.json()["decisions"]] == [
        ("reject", "u-chen")
    ]
    assert ward.outbox() == []
    verified, events = await ward.audit_events()
    assert verified
    decided_by = [e.payload["approver"] for e in events if e.kind == EventKind.APPROVAL_DECIDED]
    assert decided_by == ["u-chen"]


@pytest.mark.parametrize("crash_at", ["before_outbox", "after_outbox", "before_checkpoint"])
async def test_a_crash_after_the_decision_is_durable_records_it_exactly_once(
    ward: Ward, crash_at: str
) -> None:
    """Killed while the taken decision was being recorded: after the restart it is finished,
    written once (the outbox recognises its decision id), and a later decision is refused."""
    await ward.start(crash_at)
    thread = await ward.paused_thread()
    with pytest.raises(httpx.HTTPError):
        await ward.decide(thread, "u-lin", "approve")
    assert ward.wait_killed() == -signal.SIGKILL
    written_before_restart = len(ward.outbox())
    assert written_before_restart == (0 if crash_at == "before_outbox" else 1)
    await ward.start()
    read = await ward.http.get(f"/v1/threads/{thread}", headers=ward.auth("u-chen"))
    assert read.json()["pending_approvals"] == []
    [recorded] = read.json()["decisions"]
    assert (recorded["decision"], recorded["approver"]) == ("approve", "u-lin")
    late = await ward.decide(thread, "u-chen", "reject")
    assert late.status_code == 409, late.text  # nothing waits: no second decision
    [line] = ward.outbox()
    assert (line["decision_id"], line["thread_id"]) == (recorded["decision_id"], thread)
    assert line["run_id"]
    assert line["approver"] == "u-lin"
    verified, events = await ward.audit_events()
    assert verified
    decided = {
        (e.payload["decision_id"], e.payload["approver"])
        for e in events
        if e.kind == EventKind.APPROVAL_DECIDED
    }
    assert decided == {(recorded["decision_id"], "u-lin")}


async def test_a_question_cut_short_by_a_crash_is_still_on_the_thread(
    ward: Ward, model: tuple[TranscriptServer, str]
) -> None:
    """Killed mid-round (the synthesizer's model call in flight): after the restart the thread
    shows the question that did not finish, and the ward can ask again."""
    await ward.start()
    opened = await ward.http.post(
        "/v1/threads", json={"patient_id": PAUSING}, headers=ward.auth("u-lin")
    )
    thread = opened.json()["id"]
    SYNTHESIS_RELEASED.clear()
    SYNTHESIS_HANGS.set()
    try:
        asking = asyncio.create_task(
            ward.http.post(
                f"/v1/threads/{thread}/messages",
                json={"content": "Is the rash an allergy?"},
                headers=ward.auth("u-lin"),
            )
        )
        await wait_for_synthesis(model[0])
        assert ward.proc is not None
        ward.proc.send_signal(signal.SIGKILL)
        with pytest.raises(httpx.HTTPError):
            await asking
    finally:
        SYNTHESIS_HANGS.clear()
        SYNTHESIS_RELEASED.set()
    ward.wait_killed()
    await ward.start()
    read = await ward.http.get(f"/v1/threads/{thread}", headers=ward.auth("u-lin"))
    assert [(m["role"], m["content"], m["answered"]) for m in read.json()["messages"]] == [
        ("user", "Is the rash an allergy?", False)
    ]
    again = await ward.http.post(
        f"/v1/threads/{thread}/messages",
        json={"content": "Is the rash an allergy?"},
        headers=ward.auth("u-lin"),
    )
    assert again.status_code == 200, again.text
    verified, _ = await ward.audit_events()
    assert verified


async def wait_for_synthesis(model: TranscriptServer) -> None:
    for _ in range(600):
        if any(
            r.get("response_format", {}).get("json_schema", {}).get("name") == "synthesizer"
            for r in model.requests
        ):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the round never reached the synthesizer")
