"""Kill -9 while a taken decision is being recorded, restart, and touch nothing: the server's
start-up sweep (``server.recovery``) finishes the decision by itself, written once and audited,
the chain verifying (issue 17: such a decision was completed only when its thread was next
touched). The harness (``wardround serve`` as a subprocess on loopback, killed at a
``core.crash_points`` point) is ``tests/server/test_crash_recovery.py``'s."""

from __future__ import annotations

import asyncio
import signal

import httpx
import pytest

from core.audit import EventKind
from tests.server.test_crash_recovery import Ward, model, ward

__all__ = ["model", "ward"]  # the fixtures, shared with the crash-recovery suite
SWEEP_TIMEOUT_S = 60.0


async def swept(ward: Ward) -> list[str]:
    """Wait (bounded) until the sweep's own run, the one that finishes the decision, has answered;
    the decision ids it finished."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SWEEP_TIMEOUT_S
    while loop.time() < deadline:
        _, events = await ward.audit_events()
        runs = {
            e.run_id: e.payload["finishes"]
            for e in events
            if e.kind == EventKind.REQUEST_RECEIVED and "finishes" in e.payload
        }
        answered = {e.run_id for e in events if e.kind == EventKind.REQUEST_ANSWERED}
        if runs and set(runs) <= answered:
            return [str(d) for finished in runs.values() for d in finished]
        await asyncio.sleep(0.3)
    raise AssertionError("the start-up sweep did not finish the decision in time")


@pytest.mark.parametrize("crash_at", ["before_outbox", "after_outbox", "before_checkpoint"])
async def test_the_start_up_sweep_finishes_a_decision_nobody_touches(
    ward: Ward, crash_at: str
) -> None:
    await ward.start(crash_at)
    thread = await ward.paused_thread()
    with pytest.raises(httpx.HTTPError):
        await ward.decide(thread, "u-lin", "approve")
    assert ward.wait_killed() == -signal.SIGKILL
    _, events = await ward.audit_events()
    before = [e.kind for e in events if e.kind.startswith("approval.")]
    if crash_at == "before_checkpoint":
        assert EventKind.APPROVAL_RECORDED in before  # only the step's checkpoint is missing
    else:
        assert EventKind.APPROVAL_RECORDED not in before
    assert len(ward.outbox()) == (0 if crash_at == "before_outbox" else 1)

    await ward.start()  # its readiness probe reads the patient list, never the thread
    finished = await swept(ward)
    [line] = ward.outbox()
    assert line["thread_id"] == thread
    assert line["approver"] == "u-lin"
    assert finished == [line["decision_id"]]
    verified, events = await ward.audit_events()
    assert verified
    recorded = [e.payload for e in events if e.kind == EventKind.APPROVAL_RECORDED]
    assert {r["decision_id"] for r in recorded} == {line["decision_id"]}
    # and the thread no longer waits: a late decision is refused, nothing written twice
    read = await ward.http.get(f"/v1/threads/{thread}", headers=ward.auth("u-chen"))
    assert read.json()["pending_approvals"] == []
    late = await ward.decide(thread, "u-chen", "reject")
    assert late.status_code == 409, late.text
    assert len(ward.outbox()) == 1
