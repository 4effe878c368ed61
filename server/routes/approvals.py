"""Approvals: a clinician decides the writes a paused round proposed.

The round pauses once (LangGraph ``interrupt``) with every proposal it made, and resumes once, with
one clinician's decisions on **all** of them: a round that resumed with a proposal undecided would
end without it, and the proposal would be lost unseen. So:

- ``POST /v1/threads/{id}/approvals {decisions: [{proposal_id, decision, comment, edits?}, ...]}``
  decides the paused round's proposals together; every pending proposal must be named exactly once
  (422 naming what is missing, unknown or repeated);
- ``POST /v1/threads/{id}/approvals/{proposal_id} {decision, comment, edits?}`` decides a round
  that waits on that one proposal only; when it waits on several, this answers 409 naming them
  and pointing at the list form, and the thread stays paused with nothing decided.

The caller must be a clinician on the patient's ward (404 otherwise, as for any off-ward thread;
403 for auditors and admins). The decisions, the approver and a digest of what was approved are
audited by the graph. The reply is the resumed run: SSE by default, JSON when asked.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header
from fastapi import Path as PathParam
from langgraph.types import StateSnapshot
from pydantic import BaseModel, Field

from agents.approvals import (
    ApprovalResume,
    Approver,
    Decision,
    Verdict,
    pending_proposals,
    validate_resume,
    ward_of,
)
from core.errors import WardroundError
from graphs.result import WardRoundResult
from server.auth import Principal
from server.deps import Clinician, ServerDeps, ServerState, thread_in_scope
from server.rounds import Turn, thread_snapshot
from server.routes.threads import ROUND_RESPONSES, ThreadId, respond
from server.thread_store import ThreadRow

router = APIRouter(prefix="/v1/threads", tags=["approvals"])


class ProposalNotFound(WardroundError):
    http_status = 404
    title = "Proposal not found"


class DecideTogether(WardroundError):
    """The round waits on several proposals: one call must decide them all."""

    http_status = 409
    title = "Several proposals wait"


class DecisionsIn(BaseModel):
    decisions: list[Decision] = Field(
        min_length=1, max_length=50, description="one decision per pending proposal"
    )


async def _paused(
    state: ServerState, user: Principal, thread_id: str
) -> tuple[ThreadRow, StateSnapshot, list[str]]:
    row = await thread_in_scope(state, user, thread_id, action="approve")
    snapshot = await thread_snapshot(state, row.id)
    return row, snapshot, [p.id for p in pending_proposals(snapshot)]


async def _resume(
    state: ServerState,
    user: Principal,
    row: ThreadRow,
    snapshot: StateSnapshot,
    *,
    decisions: list[Decision],
    accept: str | None,
) -> Any:
    resume = ApprovalResume(
        approver=Approver(id=user.id, name=user.name, role=user.role, wards=list(user.wards)),
        decisions=decisions,
    )
    values = snapshot.values or {}
    validate_resume(resume, ward=ward_of(values), pending=pending_proposals(snapshot))
    turn = Turn(
        patient_id=row.patient_id,
        thread_id=row.id,
        principal_id=user.id,
        resume=resume.model_dump(),
    )
    return await respond(state, turn, accept)


@router.post("/{thread_id}/approvals", response_model=WardRoundResult, responses=ROUND_RESPONSES)
async def decide_all(
    thread_id: ThreadId,
    body: DecisionsIn,
    *,
    state: ServerDeps,
    user: Clinician,
    accept: Annotated[str | None, Header()] = None,
) -> Any:
    row, snapshot, _ = await _paused(state, user, thread_id)
    return await _resume(state, user, row, snapshot, decisions=body.decisions, accept=accept)


@router.post(
    "/{thread_id}/approvals/{proposal_id:path}",
    response_model=WardRoundResult,
    responses=ROUND_RESPONSES,
)
async def decide(
    thread_id: ThreadId,
    proposal_id: Annotated[str, PathParam(min_length=1, max_length=200)],
    body: Verdict,
    *,
    state: ServerDeps,
    user: Clinician,
    accept: Annotated[str | None, Header()] = None,
) -> Any:
    row, snapshot, pending = await _paused(state, user, thread_id)
    if pending and proposal_id not in pending:
        raise ProposalNotFound(f"no pending proposal {proposal_id!r} on thread {row.id}")
    if len(pending) > 1:
        raise DecideTogether(
            f"thread {row.id} waits on {len(pending)} proposals ({', '.join(sorted(pending))}): "
            f"decide them together with POST /v1/threads/{row.id}/approvals "
            '{"decisions": [{"proposal_id": ..., "decision": ...}, ...]}'
        )
    decision = Decision(proposal_id=proposal_id, **body.model_dump())
    return await _resume(state, user, row, snapshot, decisions=[decision], accept=accept)
