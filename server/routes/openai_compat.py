"""An OpenAI-compatible facade: ``GET /v1/models`` and ``POST /v1/chat/completions``.

Any OpenAI client or chat UI can ask a ward round. The patient comes from
``metadata.patient_id``, the ``X-Wardround-Patient`` header, or the model name: a clinician's
``/v1/models`` lists ``wardround/<patient id>`` for each patient on their wards, so a chat UI that
only lets users pick a model (Open WebUI) picks the patient that way. The last user message is the
question; ``metadata.thread_id`` (or ``X-Wardround-Thread``) continues a thread, otherwise each
call opens a new one. The reply's text ends with its citations, and the extension field
``wardround`` carries the structured findings and claims. Same scope rules as ``/v1/threads``.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from core.domain import PatientSummary
from core.errors import InvalidInput, WardroundError
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
from server.sse import Turn, drain, run_round, start_round_events

router = APIRouter(prefix="/v1", tags=["openai"])
MODEL_ID = "wardround"


class ModelNotFound(WardroundError):
    http_status = 404
    title = "Model not found"


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # temperature, top_p...: accepted, not used
    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    metadata: dict[str, str] | None = None


def _model(model_id: str, name: str) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": 0, "owned_by": "wardround", "name": name}


@router.get("/models")
async def list_models(state: ServerDeps, user: CurrentUser) -> dict[str, Any]:
    models = [_model(MODEL_ID, "wardround")]
    lister = getattr(state.require_runtime().deps.patients, "list_patients", None)
    if user.role == "clinician" and lister is not None:
        patients: list[PatientSummary] = await lister()
        models += [
            _model(f"{MODEL_ID}/{p.id}", f"wardround: {p.name or p.id} ({p.ward})")
            for p in patients
            if user.covers_ward(p.ward)
        ]
    return {"object": "list", "data": models}


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
    for message in reversed(request.messages):
        if message.role == "user" and _text_of(message).strip():
            return _text_of(message).strip()
    raise InvalidInput("messages: no user message with text")


def answer_text(result: WardRoundResult) -> str:
    citations = result.citations_text()
    if not citations:
        return result.answer
    lines = "\n".join(f"- {line}" for line in citations)
    return f"{result.answer}\n\nCitations:\n{lines}"


def extension(result: WardRoundResult) -> dict[str, Any]:
    return {
        "run_id": result.run_id,
        "thread_id": result.thread_id,
        "patient_id": result.patient_id,
        "degraded": result.degraded,
        "degraded_reasons": result.degraded_reasons,
        "findings": [f.model_dump(mode="json") for f in result.findings],
        "claims": [c.model_dump(mode="json") for c in result.claims],
    }


def _usage(result: WardRoundResult) -> dict[str, int]:
    keys = ("prompt_tokens", "completion_tokens", "total_tokens")
    return {k: result.tokens.get(k, 0) for k in keys}


async def _thread_for(
    state: ServerState, user: Any, request: ChatRequest, patient: str | None, thread: str | None
) -> tuple[str, str]:
    meta = request.metadata or {}
    patient_id = meta.get("patient_id") or patient
    thread_id = meta.get("thread_id") or thread
    if thread_id:
        row = await thread_in_scope(state, user, thread_id, action="ask")
        if patient_id and patient_id != row.patient_id:
            raise ThreadNotFound(f"no thread {thread_id!r} for that patient")
        return row.patient_id, row.id
    if not patient_id:
        raise InvalidInput(
            "metadata.patient_id: name the patient (or send an X-Wardround-Patient header)"
        )
    await patient_in_scope(state, user, patient_id, action="ask")
    return patient_id, state.threads.create(patient_id, user.id).id


def _chunk(
    completion_id: str, delta: dict[str, Any], finish: Literal["stop"] | None = None
) -> dict[str, Any]:
    return {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": MODEL_ID,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _data(obj: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(obj, ensure_ascii=False)}\n\n".encode()


async def _stream(completion_id: str, queue: Any) -> AsyncIterator[bytes]:
    yield _data(_chunk(completion_id, {"role": "assistant", "content": ""}))
    async for event in drain(queue):
        if event is None:
            yield b": ping\n\n"
        elif event.event == "answer":
            result = WardRoundResult.model_validate(event.data["result"])
            yield _data(_chunk(completion_id, {"content": answer_text(result)}))
            last = _chunk(completion_id, {}, "stop")
            last.update(usage=_usage(result), wardround=extension(result))
            yield _data(last)
        elif event.event == "error":
            yield _data({"error": {"message": event.data.get("detail", ""), **event.data}})
    yield b"data: [DONE]\n\n"


@router.post("/chat/completions")
async def chat_completions(
    body: ChatRequest,
    state: ServerDeps,
    user: Clinician,
    x_wardround_patient: Annotated[str | None, Header()] = None,
    x_wardround_thread: Annotated[str | None, Header()] = None,
) -> Any:
    by_model = patient_of_model(body.model)
    if by_model and x_wardround_patient and x_wardround_patient != by_model:
        raise InvalidInput("model: names a different patient than X-Wardround-Patient")
    question = question_of(body)
    patient_id, thread_id = await _thread_for(
        state, user, body, x_wardround_patient or by_model, x_wardround_thread
    )
    runtime = state.require_runtime()
    lock = state.thread_lock(thread_id)
    turn = Turn(patient_id=patient_id, thread_id=thread_id, principal_id=user.id, question=question)
    if body.stream:
        queue = start_round_events(runtime, lock, state.keep, turn)
        return StreamingResponse(
            _stream(f"chatcmpl-{thread_id}", queue), media_type="text/event-stream"
        )
    async with lock:
        result = await run_round(runtime, turn)
    return {
        "id": f"chatcmpl-{result.run_id}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": MODEL_ID,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": answer_text(result)},
                "finish_reason": "stop",
            }
        ],
        "usage": _usage(result),
        "wardround": extension(result),
    }
