"""``POST /v1/threads/{id}/approvals/{proposal_id}``: a clinician decides a proposed write.

The round paused (LangGraph ``interrupt``) after proposing writes; this resumes it with the
decision of the authenticated clinician, who must be on the patient's ward (404 otherwise, as for
any off-ward thread; 403 for auditors and admins). The decision, the approver and a digest of what
was approved are audited by the graph. Proposals not named in the call are not applied. The reply
is the resumed run: SSE by default, JSON when asked.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header
from fastapi import Path as PathParam
from pydantic import BaseModel, Field

from agents.approvals import ApprovalResume, Approver, Decision
from core.errors import WardroundError
from graphs.result import WardRoundResult
from server.deps import Clinician, ServerDeps, thread_in_scope
from server.routes.threads import ROUND_RESPONSES, ThreadId, pending_proposals, respond
from server.sse import NothingToApprove, Turn

router = APIRouter(prefix="/v1/threads", tags=["approvals"])


class ProposalNotFound(WardroundError):
    http_status = 404
    title = "Proposal not found"


class DecisionIn(BaseModel):
    decision: Literal["approve", "reject"]
    comment: str = Field(default="", max_length=2000)
    edits: dict[str, Any] | None = Field(default=None, description="changes to the proposal")


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
    row = await thread_in_scope(state, user, thread_id, action="approve")
    proposals = await pending_proposals(state, row.id)
    if not proposals:
        raise NothingToApprove(f"thread {row.id} is not waiting for a decision")
    if proposal_id not in {p.get("id") for p in proposals}:
        raise ProposalNotFound(f"no pending proposal {proposal_id!r} on thread {row.id}")
    resume = ApprovalResume(
        approver=Approver(id=user.id, name=user.name, role=user.role, wards=list(user.wards)),
        decisions=[Decision(proposal_id=proposal_id, **body.model_dump())],
    )
    turn = Turn(
        patient_id=row.patient_id,
        thread_id=row.id,
        principal_id=user.id,
        resume=resume.model_dump(),
    )
    return await respond(state, turn, accept)
