"""What the OpenAI-compatible facade accepts and sends, in the OpenAI reference shapes.

The request: ``model``, ``messages``, ``stream`` (with ``stream_options.include_usage``),
``metadata``; sampling parameters (temperature, top_p, ...) are accepted and have no effect on a
ward round. Parameters that would ask for something a ward round cannot give (``n`` > 1, tools,
function calls, a JSON ``response_format``, log probabilities, audio) are refused with a 422 that
names them, never silently ignored.

The reply: every completion has its own id; ``model`` echoes the model the client asked for
(``wardround/<patient>``); ``usage`` is on the non-streamed reply, and in a stream only when
``stream_options.include_usage`` asks for it: then every chunk carries ``usage: null`` and one
last chunk with no choices carries the usage (as the OpenAI API does).
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from core.errors import InvalidInput

# Parameters a ward round cannot honour: asked for, they are refused (never silently ignored).
_REFUSED = {
    "tools": "a ward round calls its own clinical tools; client tools are not supported",
    "tool_choice": "a ward round calls its own clinical tools; client tools are not supported",
    "functions": "function calling is not supported",
    "function_call": "function calling is not supported",
    "parallel_tool_calls": "client tools are not supported",
    "logprobs": "log probabilities are not available for a ward round",
    "top_logprobs": "log probabilities are not available for a ward round",
    "audio": "a ward round answers in text",
    "prediction": "predicted outputs are not supported",
}


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str
    content: str | list[dict[str, Any]] | None = None


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")
    include_usage: bool = False


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # temperature, top_p...: accepted, not used
    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    metadata: dict[str, Any] | None = None
    """``patient_id`` and ``thread_id`` are ours; a client's other keys (Open WebUI sends its
    own, not always strings) are left alone."""
    n: int = 1

    def wardround_metadata(self) -> dict[str, str]:
        meta = self.metadata or {}
        keys = ("patient_id", "thread_id")
        return {k: meta[k] for k in keys if isinstance(meta.get(k), str) and meta[k]}

    def refuse_unsupported(self) -> None:
        """422 naming the first parameter a ward round cannot honour."""
        if self.n != 1:
            raise InvalidInput("n: a ward round gives one answer; send n=1 or leave it out")
        extra = self.model_extra or {}
        for name, why in _REFUSED.items():
            if extra.get(name) not in (None, False, [], {}):
                raise InvalidInput(f"{name}: {why}")
        response_format = extra.get("response_format")
        if isinstance(response_format, dict) and response_format.get("type", "text") != "text":
            raise InvalidInput("response_format: a ward round answers in text, not JSON")
        modalities = extra.get("modalities")
        if modalities not in (None, ["text"]):
            raise InvalidInput("modalities: a ward round answers in text only")

    @property
    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)


def completion_id() -> str:
    """Each reply has its own id (a thread's replies are told apart), as OpenAI's are."""
    return f"chatcmpl-{uuid.uuid4().hex}"


def model_entry(model_id: str, name: str) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": 0, "owned_by": "wardround", "name": name}


class Chunks:
    """The ``chat.completion.chunk`` objects of one streamed reply."""

    def __init__(self, request: ChatRequest) -> None:
        self.id = completion_id()
        self.model = request.model
        self.created = int(time.time())
        self.include_usage = request.include_usage

    def chunk(
        self, delta: dict[str, Any], finish: Literal["stop"] | None = None, **extra: Any
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        if self.include_usage:
            body["usage"] = None
        return {**body, **extra}

    def usage(self, usage: dict[str, int]) -> dict[str, Any] | None:
        """The last chunk, with no choices: only when ``stream_options.include_usage``."""
        if not self.include_usage:
            return None
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [],
            "usage": usage,
        }


def completion(
    request: ChatRequest, content: str, usage: dict[str, int], **extra: Any
) -> dict[str, Any]:
    return {
        "id": completion_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": usage,
        **extra,
    }


NO_USAGE = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}


def data(obj: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(obj, ensure_ascii=False)}\n\n".encode()
