"""Threads: a conversation about one patient, shared by the ward team that cares for them.

``POST /v1/threads`` opens one, ``GET /v1/threads/{id}`` reads its messages, and
``POST /v1/threads/{id}/messages`` asks a question: Server-Sent Events by default (see
``server.sse``), the versioned JSON result when the client sends ``Accept: application/json``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from agents.approvals import Proposal, RecordedDecision, pending_proposals
from agents.cards import Card
from graphs.result import WardRoundResult
from graphs.run import decision_unfinished
from server.deps import (
    Clinician,
    ServerDeps,
    ServerState,
    patient_in_scope,
    thread_in_scope,
)
from server.rounds import (
    Turn,
    is_strict,
    refuse_if_paused,
    run_round,
    start_round_events,
    thread_snapshot,
)
from server.sse import sse_bytes

router = APIRouter(prefix="/v1/threads", tags=["threads"])


PATIENT_PATTERN = r"^[A-Za-z0-9\-.]{1,64}$"
PATIENT_ID = Field(pattern=PATIENT_PATTERN, description="FHIR id of the patient")
ThreadId = Annotated[str, Path(pattern=r"^[A-Za-z0-9\-]{1,64}$")]


class NewThread(BaseModel):
    patient_id: str = PATIENT_ID


class ThreadOut(BaseModel):
    id: str
    patient_id: str
    created_at: str


class Message(BaseModel):
    role: str
    content: str
    run_id: str = ""
    answered: bool = Field(
        default=True,
        description="false for a question whose round has not finished: still running, or cut "
        "short (the server stopped mid-round); ask it again",
    )


class ThreadDetail(ThreadOut):
    messages: list[Message]
    pending_approvals: list[Proposal] = Field(
        default_factory=list, description="proposals waiting for a clinician's decision"
    )
    decisions: list[RecordedDecision] = Field(
        default_factory=list, description="the latest round's decisions (approver, digest)"
    )
    findings: list[dict[str, Any]] = Field(
        default_factory=list,
        description="the latest round's findings (what the pending proposals are 'because' of)",
    )
    cards: list[Card] = Field(
        default_factory=list,
        description="the latest round's findings as problem cards by tier, in reading order "
        "(the same shape as the round result's cards[]; agents.cards)",
    )


class ThreadSummary(ThreadOut):
    """One line of a patient's thread list: enough to pick the thread up again."""

    owner_id: str
    turns: int = Field(description="questions answered on the thread")
    last_question: str = ""
    paused: bool = Field(description="waits for a clinician's decision on proposed writes")


MAX_QUESTION_CHARS = 4000
"""A ward-round question is a sentence or two; the facade holds its questions to the same."""


class Question(BaseModel):
    content: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS, description="the question")
    strict: bool = Field(
        default=False,
        description="on a thread waiting for a decision: refuse the question (409) instead of "
        "answering it with the pending proposals listed again (also: X-Wardround-Strict: true)",
    )


@router.post("", status_code=201)
async def open_thread(body: NewThread, state: ServerDeps, user: Clinician) -> ThreadOut:
    await patient_in_scope(state, user, body.patient_id)
    row = await state.threads.create(body.patient_id, user.id)
    return ThreadOut(id=row.id, patient_id=row.patient_id, created_at=row.created_at)


@router.get("")
async def list_threads(
    state: ServerDeps,
    user: Clinician,
    patient_id: Annotated[str, Query(pattern=PATIENT_PATTERN)],
) -> list[ThreadSummary]:
    """The patient's threads, newest first (20): the ward team picks one up after a reload."""
    await patient_in_scope(state, user, patient_id)
    graph = state.require_runtime().graph
    listed = []
    for row in await state.threads.for_patient(patient_id):
        snapshot = await graph.aget_state({"configurable": {"thread_id": row.id}})
        turns = (snapshot.values or {}).get("turns") or []
        listed.append(
            ThreadSummary(
                id=row.id,
                patient_id=row.patient_id,
                created_at=row.created_at,
                owner_id=row.owner_id,
                turns=len(turns),
                last_question=turns[-1]["question"] if turns else "",
                paused=bool(pending_proposals(snapshot)),
            )
        )
    return listed


@router.get("/{thread_id}")
async def read_thread(thread_id: ThreadId, state: ServerDeps, user: Clinician) -> ThreadDetail:
    row = await thread_in_scope(state, user, thread_id)
    snapshot = await thread_snapshot(state, row.id)
    values = snapshot.values or {}
    messages: list[Message] = []
    for turn in values.get("turns") or []:
        run_id = turn.get("run_id", "")
        messages.append(Message(role="user", content=turn["question"], run_id=run_id))
        messages.append(Message(role="assistant", content=turn["answer"], run_id=run_id))
    question = values.get("question")
    cut_short = not pending_proposals(snapshot) and not decision_unfinished(snapshot)
    if question and snapshot.next and cut_short:
        messages.append(Message(role="user", content=question, answered=False))
    return ThreadDetail(
        id=row.id,
        patient_id=row.patient_id,
        created_at=row.created_at,
        messages=messages,
        pending_approvals=pending_proposals(snapshot),
        decisions=values.get("decisions") or [],
        findings=values.get("findings") or [],
        cards=values.get("cards") or [],
    )


def wants_json(accept: str | None) -> bool:
    accept = (accept or "").lower()
    return "application/json" in accept and "text/event-stream" not in accept


async def respond(state: ServerState, turn: Turn, accept: str | None) -> Any:
    """Run ``turn`` (one writer per thread): SSE by default, the result as JSON when asked."""
    runtime = state.require_runtime()
    writer = state.threads.writer(turn.thread_id)
    if wants_json(accept):
        async with writer:
            return await run_round(runtime, turn)
    queue = start_round_events(runtime, writer, state.keep, turn)
    return StreamingResponse(
        sse_bytes(queue, turn.thread_id),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


ROUND_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {}}, "description": "SSE, or JSON when asked"}
}


@router.post("/{thread_id}/messages", response_model=WardRoundResult, responses=ROUND_RESPONSES)
async def ask_on_thread(
    thread_id: ThreadId,
    body: Question,
    *,
    state: ServerDeps,
    user: Clinician,
    accept: Annotated[str | None, Header()] = None,
    x_wardround_strict: Annotated[str | None, Header()] = None,
) -> Any:
    row = await thread_in_scope(state, user, thread_id, action="ask")
    strict = body.strict or is_strict(x_wardround_strict)
    await refuse_if_paused(state, row.id, strict=strict)
    turn = Turn(
        patient_id=row.patient_id,
        thread_id=row.id,
        principal_id=user.id,
        question=body.content,
        strict=strict,
    )
    return await respond(state, turn, accept)
