"""Capability probe: what does this OpenAI-compatible endpoint actually support?

Run once at start-up (``ModelClient.capabilities``) and by ``wardround model probe URL``. Each
probe is one small, non-retried request; a refusal (4xx/5xx) or an unusable reply means "no". A
model that does not answer at all (timeout, unreachable, 429, a body that is not JSON) fails the
whole probe instead, so a passing outage is not cached as "supports nothing"; and the whole probe
is bounded by ``ModelConfig.probe_timeout_s``, so it can never outlast a round's deadline budget.
Servers differ in ways their docs do not always say: llama-cpp-python's server answers 500 to
OpenAI's ``json_schema`` shape but constrains output with ``json_object`` + ``schema``.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

from core.errors import (
    ModelError,
    ModelRateLimited,
    ModelReplyMalformed,
    ModelTimeout,
    ModelUnavailable,
)
from core.logging import get_logger
from core.model.types import ModelCapabilities, StructuredMode

if TYPE_CHECKING:
    from core.model.client import ModelClient

log = get_logger(__name__)

PROBE_MARKER = "wardround capability probe"
_NO_ANSWER = (ModelTimeout, ModelUnavailable, ModelRateLimited, ModelReplyMalformed)
"""Failures that say nothing about a capability: the model did not answer at all."""
_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"ok": {"type": "boolean"}},
    "required": ["ok"],
}
_TOOL = {
    "type": "function",
    "function": {
        "name": "probe_echo",
        "description": "Echo a flag.",
        "parameters": _SCHEMA,
    },
}


def _messages(task: str) -> list[dict[str, Any]]:
    return [
        {"role": "system", "content": f"{PROBE_MARKER}: {task}"},
        {"role": "user", "content": 'Reply {"ok": true}'},
    ]


async def _supports_tools(client: ModelClient) -> bool:
    try:
        reply = await client.chat(
            _messages("tools"),
            retry=False,
            tools=[_TOOL],
            tool_choice={"type": "function", "function": {"name": "probe_echo"}},
            max_tokens=24,
            temperature=0.0,
        )
    except _NO_ANSWER:
        raise
    except ModelError:
        return False
    calls = reply.choices[0].message.tool_calls or []
    return any(getattr(getattr(c, "function", None), "name", "") == "probe_echo" for c in calls)


def _format_for(mode: StructuredMode) -> dict[str, Any]:
    from core.model.structured import response_format

    fmt = response_format(mode, "probe", _SCHEMA)
    assert fmt is not None  # only called for modes that have a response_format
    return fmt


async def _structured_mode(client: ModelClient) -> StructuredMode:
    modes: tuple[StructuredMode, ...] = ("json_schema", "json_object_schema", "json_object")
    for mode in modes:
        try:
            reply = await client.chat(
                _messages(mode),
                retry=False,
                response_format=_format_for(mode),
                max_tokens=24,
                temperature=0.0,
            )
        except _NO_ANSWER:
            raise
        except ModelError:
            continue
        try:
            if isinstance(json.loads(reply.choices[0].message.content or ""), dict):
                return mode
        except json.JSONDecodeError:
            continue
    return "prompt"


async def probe_capabilities(client: ModelClient) -> ModelCapabilities:
    """Probe the endpoint; raise a ``ModelError`` if it does not answer in time or at all."""
    bound = client.config.probe_timeout_s or client.config.total_timeout_s
    try:
        async with asyncio.timeout(bound):
            return await _probe(client)
    except TimeoutError:
        raise ModelTimeout(
            f"the model at {client.config.base_url} did not finish the capability probe "
            f"within {bound:g} s"
        ) from None


async def _probe(client: ModelClient) -> ModelCapabilities:
    try:
        listing = await client._openai.models.list()
        models = tuple(m.id for m in listing.data)
    except Exception as exc:  # any failure to list means we cannot talk to it
        raise ModelUnavailable(
            f"cannot reach the model server at {client.config.base_url}: {exc}"
        ) from exc
    caps = ModelCapabilities(
        models=models,
        tools=await _supports_tools(client),
        structured=await _structured_mode(client),
    )
    log.info("model.probe", tools=caps.tools, structured=caps.structured, models=len(models))
    return caps
