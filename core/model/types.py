"""Value types of the model boundary: configuration, capabilities, usage, call records."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from core.model.reply_checks import MAX_REPLY_CHARS
from core.settings import Settings

StructuredMode = Literal["json_schema", "json_object_schema", "json_object", "prompt"]
"""How a server takes a JSON schema:
- ``json_schema``: OpenAI's ``{"type": "json_schema", "json_schema": {...}}`` (vLLM, SGLang);
- ``json_object_schema``: ``{"type": "json_object", "schema": {...}}`` (llama-cpp-python's server,
  which grammar-constrains output this way and answers 500 to the OpenAI shape);
- ``json_object``: JSON mode with no schema; the schema goes in the prompt;
- ``prompt``: no JSON support; the schema goes in the prompt and the reply is parsed leniently.
"""


@dataclass(frozen=True)
class ModelConfig:
    base_url: str
    model: str
    api_key: str = "not-needed"
    connect_timeout_s: float = 5.0
    first_token_timeout_s: float = 60.0
    total_timeout_s: float = 180.0
    max_retries: int = 3
    max_concurrency: int = 4
    backoff_base_s: float = 0.5
    backoff_max_s: float = 8.0
    retry_after_max_s: float = 30.0
    """A server asking us to wait longer than this is treated as unavailable now."""
    probe_timeout_s: float | None = None
    """The whole capability probe (a model list and four 24-token replies) within this; by
    default ``total_timeout_s``: the probe may take as long as one whole reply."""
    max_reply_chars: int = MAX_REPLY_CHARS
    """Reply text (content and tool-call arguments) read from one call before it is refused."""

    @classmethod
    def from_settings(cls, settings: Settings) -> ModelConfig:
        return cls(
            base_url=settings.model_base_url,
            model=settings.model_name,
            api_key=settings.model_api_key.get_secret_value(),
            connect_timeout_s=settings.model_connect_timeout_s,
            first_token_timeout_s=settings.model_first_token_timeout_s,
            total_timeout_s=settings.model_total_timeout_s,
            max_retries=settings.model_max_retries,
            max_concurrency=settings.model_max_concurrency,
        )


class ModelCapabilities(BaseModel):
    """What the endpoint supports, found by ``probe_capabilities`` at start-up."""

    model_config = ConfigDict(frozen=True)

    reachable: bool = True
    models: tuple[str, ...] = ()
    tools: bool = False
    """The server returns structured ``tool_calls`` when ``tool_choice`` names a function."""
    structured: StructuredMode = "prompt"
    streaming: bool = True

    @classmethod
    def full(cls) -> ModelCapabilities:
        """What vLLM/SGLang with a tool parser offer; the transcript server's default profile."""
        return cls(tools=True, structured="json_schema")


@dataclass
class TokenUsage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def add(self, prompt: int, completion: int) -> None:
        self.prompt_tokens += prompt
        self.completion_tokens += completion
        self.calls += 1

    def as_dict(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
            "calls": self.calls,
        }


_meters: contextvars.ContextVar[tuple[TokenUsage, ...]] = contextvars.ContextVar(
    "wardround_token_meters", default=()
)


@contextmanager
def metered() -> Iterator[TokenUsage]:
    """Count the tokens of every model call made inside this block (and tasks it spawns)."""
    usage = TokenUsage()
    token = _meters.set((*_meters.get(), usage))
    try:
        yield usage
    finally:
        _meters.reset(token)


def record_usage(prompt: int, completion: int) -> None:
    for meter in _meters.get():
        meter.add(prompt, completion)


@dataclass
class ModelCall:
    """One model call as the boundary saw it: what audit and the transcript recorder store."""

    request: dict[str, Any]
    response: dict[str, Any] | None = None
    chunks: list[dict[str, Any]] = field(default_factory=list)
    status: int | None = None
    error: str | None = None
    attempts: int = 1
    started_at: float = 0.0
    duration_ms: float = 0.0
    usage: dict[str, int] = field(default_factory=dict)
