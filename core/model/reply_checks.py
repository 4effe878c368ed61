"""What counts as a usable reply: a 200 is not enough.

A model server can answer 200 and still send nothing wardround can use: a body that is not JSON
or is cut short, a completion without choices, a garbage SSE line, or a reply far larger than
anything we asked for. The ``openai`` client parses such bodies leniently (``construct``, no
validation) or raises ``json.JSONDecodeError``, which is no ``ModelError``; these checks turn
each into ``UnusableReply``, which ``errors_map.classify`` maps to ``ModelReplyMalformed`` so
the round degrades instead of crashing.
"""

from __future__ import annotations

import json
from typing import Any

import openai
from openai.types.chat import ChatCompletion, ChatCompletionChunk

MAX_REPLY_CHARS = 100_000
"""The most reply text (content plus tool-call arguments) wardround reads from one call. Our
largest request asks for 1,024 tokens, a few KB of text; a reply 25 times that is not an answer
but a fault, and echoing it back in a repair prompt or storing it in audit would spread it."""


class UnusableReply(Exception):
    """A 200 reply wardround cannot use; ``retryable`` says whether another attempt may help."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


FAILED_CALL: tuple[type[Exception], ...] = (
    openai.OpenAIError,
    json.JSONDecodeError,
    UnicodeDecodeError,
    UnusableReply,
)
"""What one call to the ``openai`` client (or our checks of its result) raises when it fails:
its own errors, and the decode errors it lets through for a 200 whose body is not a reply."""


def reply_chars(message: Any) -> int:
    """Characters of reply text in one message or delta: content plus tool-call arguments."""
    content = getattr(message, "content", None)
    size = len(content) if isinstance(content, str) else 0
    for call in getattr(message, "tool_calls", None) or []:
        arguments = getattr(getattr(call, "function", None), "arguments", None)
        size += len(arguments) if isinstance(arguments, str) else 0
    return size


def check_completion(result: object, *, max_chars: int = MAX_REPLY_CHARS) -> ChatCompletion:
    """``result`` itself if it is a completion with a first choice holding a message."""
    if not isinstance(result, ChatCompletion):
        raise UnusableReply("answered 200 with a body that is not a chat completion")
    choices = getattr(result, "choices", None)
    if not isinstance(choices, list) or not choices:
        raise UnusableReply("answered a completion without choices")
    message = getattr(choices[0], "message", None)
    content = getattr(message, "content", None)
    if message is None or not (content is None or isinstance(content, str)):
        raise UnusableReply("answered a completion whose first choice holds no message")
    size = reply_chars(message)
    if size > max_chars:
        raise UnusableReply(
            f"sent a reply of {size} characters (wardround reads at most {max_chars})",
            retryable=False,
        )
    return result


def chunk_choices(chunk: object) -> list[Any]:
    """The choices of one streamed chunk; ``UnusableReply`` if it is not a chunk."""
    choices = getattr(chunk, "choices", None) if isinstance(chunk, ChatCompletionChunk) else None
    if not isinstance(choices, list) or any(
        getattr(choice, "delta", None) is None for choice in choices
    ):
        raise UnusableReply("sent a stream event that is not a chat completion chunk")
    return choices
