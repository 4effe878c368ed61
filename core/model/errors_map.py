"""Translate what the ``openai`` client raises into wardround's typed model errors.

Kept apart from the client so the retry policy reads as policy: ``classify`` says whether a
failure is worth another attempt and how long the server asked us to wait.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
import openai

from core.errors import (
    ModelError,
    ModelRateLimited,
    ModelReplyMalformed,
    ModelRequestRejected,
    ModelServerError,
    ModelTimeout,
    ModelUnavailable,
    TranscriptMismatch,
)
from core.model.reply_checks import UnusableReply


@dataclass(frozen=True)
class Failure:
    error: ModelError
    retryable: bool
    retry_after_s: float | None = None
    status: int | None = None


def _retry_after(response: Any) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP-date: rare for model servers; fall back to our own backoff


def _detail(exc: openai.APIStatusError) -> str:
    try:
        body = exc.response.json()
    except (json.JSONDecodeError, httpx.ResponseNotRead, UnicodeDecodeError):
        return exc.response.text[:500]
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict):
            return str(err.get("message") or err.get("detail") or err)[:2000]
    return str(body)[:500]


def classify(exc: BaseException, *, base_url: str) -> Failure:
    """Map one failed attempt to a typed error and whether to retry it."""
    if isinstance(exc, openai.APITimeoutError):
        if isinstance(exc.__cause__, httpx.ConnectTimeout):
            msg = f"could not connect to the model at {base_url} (connect timeout)"
            return Failure(ModelUnavailable(msg), retryable=True)
        msg = f"the model at {base_url} did not answer in time"
        return Failure(ModelTimeout(msg), retryable=False)
    if isinstance(exc, openai.APIConnectionError):
        msg = f"could not reach the model at {base_url}: {exc.__cause__ or exc}"
        return Failure(ModelUnavailable(msg), retryable=True)
    if isinstance(exc, openai.APIStatusError):
        return _classify_status(exc, base_url=base_url)
    return _classify_unusable(exc, base_url=base_url)


def _classify_unusable(exc: BaseException, *, base_url: str) -> Failure:
    """A 200 that carried no usable reply: worth one more attempt unless it was enormous."""
    if isinstance(exc, UnusableReply):
        return Failure(ModelReplyMalformed(f"the model at {base_url} {exc}"), exc.retryable)
    if isinstance(exc, json.JSONDecodeError | UnicodeDecodeError):
        msg = f"the model at {base_url} answered 200 with a body that is not valid JSON: {exc}"
        return Failure(ModelReplyMalformed(msg), retryable=True)
    if isinstance(exc, openai.OpenAIError):
        # an error event inside an SSE stream, or a body the client could not validate
        msg = f"the model at {base_url} sent an error instead of a reply: {str(exc)[:500]}"
        return Failure(ModelServerError(msg), retryable=False)
    raise exc


def _classify_status(exc: openai.APIStatusError, *, base_url: str) -> Failure:
    status = exc.status_code
    detail = _detail(exc)
    if status == 429:
        err: ModelError = ModelRateLimited(f"the model at {base_url} is rate limiting: {detail}")
        return Failure(err, True, _retry_after(exc.response), status)
    if status >= 500:
        err = ModelServerError(f"model server error {status}: {detail}", status_code=status)
        return Failure(err, True, _retry_after(exc.response), status)
    if status == 409 and "transcript" in detail.lower():
        return Failure(TranscriptMismatch(detail), retryable=False, status=status)
    err = ModelRequestRejected(
        f"the model at {base_url} rejected the request ({status}): {detail}", status_code=status
    )
    return Failure(err, retryable=False, status=status)
