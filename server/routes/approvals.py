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

from collections import Counter
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header
from fastapi import Path as PathParam
from pydantic import BaseModel, Field

from agents.approvals import ApprovalResume, Approver, Decision
from core.errors import InvalidInput, WardroundError
from graphs.result import WardRoundResult
from server.auth import Principal
from server.deps import Clinician, ServerDeps, ServerState, thread_in_scope
from server.routes.threads import ROUND_RESPONSES, ThreadId, pending_proposals, respond
from server.sse import NothingToApprove, Turn
from server.thread_store import ThreadRow

router = APIRouter(prefix="/v1/threads", tags=["approvals"])


class ProposalNotFound(WardroundError):
    http_status = 404
    title = "Proposal not found"


class DecideTogether(WardroundError):
    """The round waits on several proposals: one call must decide them all."""

    http_status = 409
    title = "Several proposals wait"


class DecisionIn(BaseModel):
    decision: Literal["approve", "reject"]
    comment: str = Field(default="", max_length=2000)
    edits: dict[str, Any] | None = Field(default=None, description="changes to the proposal")


class ProposalDecisionIn(DecisionIn):
    proposal_id: str = Field(min_length=1, max_length=200)


class DecisionsIn(BaseModel):
    decisions: list[ProposalDecisionIn] = Field(
        min_length=1, max_length=50, description="one decision per pending proposal"
    )


async def _paused(
    state: ServerState, user: Principal, thread_id: str
) -> tuple[ThreadRow, set[str]]:
    row = await thread_in_scope(state, user, thread_id, action="approve")
    pending = {str(p.get("id")) for p in await pending_proposals(state, row.id)}
    if not pending:
        raise NothingToApprove(f"thread {row.id} is not waiting for a decision")
    return row, pending


def _check_cover(decided: list[str], pending: set[str]) -> None:
    repeated = sorted(p for p, n in Counter(decided).items() if n > 1)
    unknown = sorted(set(decided) - pending)
    missing = sorted(pending - set(decided))
    problems = [
        f"{what}: {', '.join(ids)}"
        for what, ids in (("repeated", repeated), ("not pending", unknown), ("missing", missing))
        if ids
    ]
    if problems:
        raise InvalidInput("decisions: decide every pending proposal once; " + "; ".join(problems))


async def _resume(
    state: ServerState,
    user: Principal,
    row: ThreadRow,
    decisions: list[Decision],
    accept: str | None,
) -> Any:
    resume = ApprovalResume(
        approver=Approver(id=user.id, name=user.name, role=user.role, wards=list(user.wards)),
        decisions=decisions,
    )
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
    row, pending = await _paused(state, user, thread_id)
    _check_cover([d.proposal_id for d in body.decisions], pending)
    decisions = [Decision(**d.model_dump()) for d in body.decisions]
    return await _resume(state, user, row, decisions, accept)


@router.post(
    "/{thread_id}/approvals/{proposal_id:path}",
    response_model=WardRoundResult,
    responses=ROUND_RESPONSES,
)
async def decide(
    thread_id: ThreadId,
    proposal_id: Annotated[str, PathParam(min_length=1, max_length=200)],
    body: DecisionIn,
    *,
    state: ServerDeps,
    user: Clinician,
    accept: Annotated[str | None, Header()] = None,
) -> Any:
    row, pending = await _paused(state, user, thread_id)
    if proposal_id not in pending:
        raise ProposalNotFound(f"no pending proposal {proposal_id!r} on thread {row.id}")
    if len(pending) > 1:
        raise DecideTogether(
            f"thread {row.id} waits on {len(pending)} proposals ({', '.join(sorted(pending))}): "
            f"decide them together with POST /v1/threads/{row.id}/approvals "
            '{"decisions": [{"proposal_id": ..., "decision": ...}, ...]}'
        )
    decision = Decision(proposal_id=proposal_id, **body.model_dump())
    return await _resume(state, user, row, [decision], accept)
