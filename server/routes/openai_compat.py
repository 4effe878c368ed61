"""An OpenAI-compatible facade: ``GET /v1/models``, ``GET /v1/models/{id}`` and
``POST /v1/chat/completions``.

Any OpenAI client or chat UI can ask a ward round. The patient comes from
``metadata.patient_id``, the ``X-Wardround-Patient`` header, or the model name: a clinician's
``/v1/models`` lists ``wardround/<patient id>`` for each patient on their wards, so a chat UI that
only lets users pick a model (Open WebUI) picks the patient that way. The last user message is the
question; ``metadata.thread_id`` (or the ``X-Wardround-Thread`` header) continues a thread, as
does a conversation whose earlier reply names the caller's own thread about the patient (a paused
round's reply does: a chat UI that sends no metadata continues it, its proposals and decisions
with it); otherwise each call opens a new one, seeded with the conversation the client sent
before its last question (user message, assistant reply), so a chat UI's follow-up is read in
context; either way
the reply names the thread in its ``X-Wardround-Thread`` header and in ``wardround.thread_id``, so
the next call can continue it. A question on a thread waiting for an approval is answered and
the reply lists the proposals still waiting; with ``X-Wardround-Strict: true`` it is refused
(409) until they are decided. The reply's text lists the problem cards by tier and ends with its
citations; the extension field ``wardround`` carries the structured findings, cards and claims.
Same scope rules as ``/v1/threads``: a thread or patient off the caller's wards is 404.

No round runs for a chat client's own housekeeping (Open WebUI's ``### Task:`` title, tags and
follow-up prompts: ``openai_housekeeping``) nor for a request that names no patient (it is told
how to pick one). Request and reply shapes (ids, ``model`` echo, ``usage``, refused parameters)
are in ``openai_shapes``.

Streaming (``stream: true``): the answer's text arrives as the synthesizer writes it, one
``chat.completion.chunk`` per ``token`` event, then the rule findings and citations, then a
chunk with ``finish_reason`` and the ``wardround`` extension, then (with
``stream_options.include_usage``) the usage chunk. Until the first token, a ``: ping`` comment
goes out at least every 15 s, so proxies and clients do not give up on a long round.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse, StreamingResponse

from agents.approvals import Proposal
from core.domain import PatientSummary
from core.errors import InvalidInput, WardroundError
from graphs.events import Answered, Failed, Token
from graphs.result import WardRoundResult
from server.deps import (
    Clinician,
    CurrentUser,
    ServerDeps,
    ServerState,
    ThreadNotFound,
    patient_in_scope,
    thread_in_scope,
)
from server.rounds import (
    RoundEvents,
    Turn,
    is_strict,
    refuse_if_paused,
    run_round,
    start_round_events,
)
from server.routes.openai_housekeeping import housekeeping_reply, is_housekeeping, pick_a_patient
from server.routes.openai_shapes import (
    NO_USAGE,
    ChatMessage,
    ChatRequest,
    Chunks,
    completion,
    data,
    model_entry,
)
from server.routes.threads import MAX_QUESTION_CHARS
from server.sse import PING_EVERY_S, drain, failure_problem

router = APIRouter(prefix="/v1", tags=["openai"])
MODEL_ID = "wardround"
THREAD_HEADER = "X-Wardround-Thread"


class ModelNotFound(WardroundError):
    http_status = 404
    title = "Model not found"


async def _patients_of(state: ServerState, user: Any) -> list[PatientSummary]:
    """The patients on the caller's wards (a clinician's; nobody else's)."""
    lister = getattr(state.require_runtime().deps.patients, "list_patients", None)
    if user.role != "clinician" or lister is None:
        return []
    patients: list[PatientSummary] = await lister()
    return [p for p in patients if user.covers_ward(p.ward)]


def _models(patients: list[PatientSummary]) -> list[dict[str, Any]]:
    return [model_entry(MODEL_ID, "wardround")] + [
        model_entry(f"{MODEL_ID}/{p.id}", f"wardround: {p.name or p.id} ({p.ward})")
        for p in patients
    ]


@router.get("/models")
async def list_models(state: ServerDeps, user: CurrentUser) -> dict[str, Any]:
    return {"object": "list", "data": _models(await _patients_of(state, user))}


@router.get("/models/{model_id:path}")
async def get_model(model_id: str, state: ServerDeps, user: CurrentUser) -> dict[str, Any]:
    """One model, as ``GET /v1/models`` lists it for the caller; any other name is 404."""
    for model in _models(await _patients_of(state, user)):
        if model["id"] == model_id:
            return model
    raise ModelNotFound(f"model {model_id!r} does not exist; GET /v1/models lists yours")


def patient_of_model(model: str) -> str | None:
    """``wardround`` → None; ``wardround/<patient id>`` → the id; anything else: 404."""
    if model == MODEL_ID:
        return None
    prefix = f"{MODEL_ID}/"
    if model.startswith(prefix) and len(model) > len(prefix):
        return model[len(prefix) :]
    raise ModelNotFound(f"model {model!r} does not exist; use {MODEL_ID!r}")


def _text_of(message: ChatMessage) -> str:
    if isinstance(message.content, str):
        return message.content
    parts = message.content or []
    return "\n".join(str(p.get("text", "")) for p in parts if p.get("type") == "text")


def question_of(request: ChatRequest) -> str:
    """The last user message's text: the question (at most ``MAX_QUESTION_CHARS``, as on a
    thread; the conversation before it may be longer)."""
    for message in reversed(request.messages):
        text = _text_of(message).strip()
        if message.role == "user" and text:
            if len(text) > MAX_QUESTION_CHARS:
                raise InvalidInput(
                    f"messages: the question has {len(text):,} characters; "
                    f"at most {MAX_QUESTION_CHARS:,}"
                )
            return text
    raise InvalidInput("messages: no user message with text")


def earlier_of(request: ChatRequest) -> tuple[dict[str, str], ...]:
    """The conversation the client sent before its last question, as ``{question, answer}``
    turns (a user message and the assistant reply after it; system messages are not turns)."""
    said = [(m.role, _text_of(m).strip()) for m in request.messages if m.role != "system"]
    last = max((i for i, (role, text) in enumerate(said) if role == "user" and text), default=-1)
    turns: list[dict[str, str]] = []
    for role, text in said[:last]:
        if role == "user" and text:
            turns.append({"question": text, "answer": ""})
        elif role == "assistant" and turns and not turns[-1]["answer"]:
            turns[-1]["answer"] = text
    return tuple(turns)


def answer_text(result: WardRoundResult) -> str:
    text = result.answer
    citations = result.citations_text()
    if citations:
        lines = "\n".join(f"- {line}" for line in citations)
        text = f"{text}\n\nCitations:\n{lines}"
    return text + pending_text(result)


def pending_approvals(result: WardRoundResult) -> list[Proposal]:
    return list(result.proposals) if result.pending_approval else []


def pending_text(result: WardRoundResult) -> str:
    """A chat client shows no approval cards: the reply says what waits and how to decide it."""
    pending = pending_approvals(result)
    if not pending:
        return ""
    lines = "\n".join(f"- {p.summary} (id: {p.id})" for p in pending)
    return (
        f"\n\nWaiting for a clinician's decision (thread {result.thread_id}; a follow-up "
        f"question is answered and these stay pending until decided):\n{lines}\n"
        f"Decide them on the ward page, or: POST "
        f"/v1/threads/{result.thread_id}/approvals with one decision per proposal, or "
        f"wardround approve --thread {result.thread_id} --all approve|reject"
    )


def extension(result: WardRoundResult) -> dict[str, Any]:
    return {
        "run_id": result.run_id,
        "thread_id": result.thread_id,
        "patient_id": result.patient_id,
        "degraded": result.degraded,
        "degraded_reasons": result.degraded_reasons,
        "findings": [f.model_dump(mode="json") for f in result.findings],
        "cards": [c.model_dump(mode="json") for c in result.cards],
        "claims": [c.model_dump(mode="json") for c in result.claims],
        "pending_approvals": [p.model_dump() for p in pending_approvals(result)],
        "settled": [s.model_dump() for s in result.settled],
    }


def _usage(result: WardRoundResult) -> dict[str, int]:
    keys = ("prompt_tokens", "completion_tokens", "total_tokens")
    return {k: result.tokens.get(k, 0) for k in keys}


async def _thread_for(
    state: ServerState, user: Any, request: ChatRequest, patient: str | None, thread: str | None
) -> tuple[str, str, bool]:
    """(patient, thread, whether the thread was opened by this request)."""
    meta = request.wardround_metadata()
    patient_id = meta.get("patient_id") or patient
    if meta.get("thread_id") and thread and meta["thread_id"] != thread:
        raise InvalidInput("metadata.thread_id: names a different thread than X-Wardround-Thread")
    thread_id = meta.get("thread_id") or thread
    if thread_id:
        row = await thread_in_scope(state, user, thread_id, action="ask")
        if patient_id and patient_id != row.patient_id:
            raise ThreadNotFound(f"no thread {thread_id!r} for that patient")
        return row.patient_id, row.id, False
    if not patient_id:  # answered before a thread is looked for (``_names_a_patient``)
        raise InvalidInput("metadata.patient_id: name the patient")
    named = await _thread_named_earlier(state, user, request, patient_id)
    if named is not None:
        return patient_id, named, False
    await patient_in_scope(state, user, patient_id, action="ask")
    return patient_id, (await state.threads.create(patient_id, user.id)).id, True


THREAD_IN_TEXT = re.compile(r"\bthread-[0-9a-f]{12,32}\b")


async def _thread_named_earlier(
    state: ServerState, user: Any, request: ChatRequest, patient_id: str
) -> str | None:
    """A chat UI sends no thread, only the conversation: the latest thread an earlier reply of
    ours names (a paused round's reply says how to decide its proposals on it) is continued,
    if it is this user's thread about this patient and still in their scope. So the proposals
    it waits on, or the decisions taken on it since, carry on into the follow-up."""
    for message in reversed(request.messages):
        found = THREAD_IN_TEXT.findall(_text_of(message)) if message.role == "assistant" else []
        if not found:
            continue
        row = await state.threads.get(found[-1])
        if row is None or row.owner_id != user.id or row.patient_id != patient_id:
            return None
        try:
            return (await thread_in_scope(state, user, row.id, action="ask")).id
        except ThreadNotFound:
            return None
    return None


class _AnswerChunks:
    """The streamed reply's text: the synthesizer's ``token`` pieces as they come, then the rest.

    The pieces preview the answer of record (``answer_text``), which begins with exactly them
    when the model's first reply was valid; the rest (the rule findings, the citations) follows
    when the round ends. A client cannot take text back, so when the answer of record does not
    begin with what was sent (a repair rewrote it, or the model failed mid-reply and the round
    degraded), the answer of record follows in full after a blank line.
    """

    def __init__(self) -> None:
        self.sent = ""
        self.diverged = False

    def token(self, token: Token) -> str:
        if token.restart:
            self.diverged = self.diverged or bool(self.sent)
            return ""
        if self.diverged or not token.text:
            return ""
        self.sent += token.text
        return token.text

    def rest(self, full: str) -> str:
        if not self.diverged and full.startswith(self.sent):
            return full[len(self.sent) :]
        return f"\n\n{full}" if self.sent else full


async def _stream(chunks: Chunks, thread_id: str, queue: RoundEvents) -> AsyncIterator[bytes]:
    first = chunks.chunk({"role": "assistant", "content": ""}, wardround={"thread_id": thread_id})
    yield data(first)
    text = _AnswerChunks()
    sent_at = time.monotonic()
    # a short tick, so events the stream drops (status, findings) cannot hold back the ping
    async for event in drain(queue, ping_every_s=1.0):
        out = b""
        if isinstance(event, Token):
            piece = text.token(event)
            out = data(chunks.chunk({"content": piece})) if piece else b""
        elif isinstance(event, Answered):
            out = _ending(chunks, text, event.result)
        elif isinstance(event, Failed):
            failure = failure_problem(event.error)
            out = data({"error": {"message": failure.get("detail", ""), **failure}})
        if not out and time.monotonic() - sent_at >= PING_EVERY_S - 1.0:
            out = b": ping\n\n"  # a comment: keeps proxies and clients from timing out
        if out:
            sent_at = time.monotonic()
            yield out
    yield b"data: [DONE]\n\n"


def _ending(chunks: Chunks, text: _AnswerChunks, result: WardRoundResult) -> bytes:
    out = b""
    rest = text.rest(answer_text(result))
    if rest:
        out += data(chunks.chunk({"content": rest}))
    out += data(chunks.chunk({}, "stop", wardround=extension(result)))
    usage = chunks.usage(_usage(result))
    return out + (data(usage) if usage else b"")


async def _without_round(request: ChatRequest, content: str) -> Any:
    """A reply that is not a ward round (client housekeeping, no patient named)."""
    if not request.stream:
        return JSONResponse(completion(request, content, NO_USAGE))
    chunks = Chunks(request)

    async def body() -> AsyncIterator[bytes]:
        yield data(chunks.chunk({"role": "assistant", "content": ""}))
        yield data(chunks.chunk({"content": content}))
        yield data(chunks.chunk({}, "stop"))
        usage = chunks.usage(NO_USAGE)
        if usage:
            yield data(usage)
        yield b"data: [DONE]\n\n"

    return StreamingResponse(body(), media_type="text/event-stream")


@router.post("/chat/completions")
async def chat_completions(
    body: ChatRequest,
    *,
    state: ServerDeps,
    user: Clinician,
    x_wardround_patient: Annotated[str | None, Header()] = None,
    x_wardround_thread: Annotated[str | None, Header()] = None,
    x_wardround_strict: Annotated[str | None, Header()] = None,
) -> Any:
    by_model = patient_of_model(body.model)
    if by_model and x_wardround_patient and x_wardround_patient != by_model:
        raise InvalidInput("model: names a different patient than X-Wardround-Patient")
    body.refuse_unsupported()
    question = question_of(body)
    if is_housekeeping(question):
        return await _without_round(body, housekeeping_reply(question))
    meta = body.wardround_metadata()
    if not (by_model or x_wardround_patient or x_wardround_thread or meta):
        return await _without_round(body, pick_a_patient(await _patients_of(state, user)))
    patient_id, thread_id, opened = await _thread_for(
        state, user, body, x_wardround_patient or by_model, x_wardround_thread
    )
    strict = is_strict(x_wardround_strict)
    await refuse_if_paused(state, thread_id, strict=strict)
    runtime = state.require_runtime()
    writer = state.threads.writer(thread_id)
    turn = Turn(
        patient_id=patient_id,
        thread_id=thread_id,
        principal_id=user.id,
        question=question,
        earlier=earlier_of(body) if opened else (),  # a continued thread has its own turns
        strict=strict,
    )
    headers = {THREAD_HEADER: thread_id}
    if body.stream:
        queue = start_round_events(runtime, writer, state.keep, turn)
        return StreamingResponse(
            _stream(Chunks(body), thread_id, queue),
            media_type="text/event-stream",
            headers={**headers, "Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    async with writer:
        result = await run_round(runtime, turn)
    reply = completion(body, answer_text(result), _usage(result), wardround=extension(result))
    return JSONResponse(reply, headers=headers)
