"""Errors as RFC 9457 problem documents (``application/problem+json``), and the body size limit.

Every failure a client sees has ``type``, ``title``, ``status`` and ``detail``; validation errors
add ``errors: [{field, message}]`` naming each offending field. Unexpected exceptions answer a
generic 500 whose detail says nothing about the request (it may hold PHI); the log has the type.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.errors import NotAuthenticated, WardroundError
from core.logging import get_logger
from server.auth import RateLimited

log = get_logger(__name__)

PROBLEM_JSON = "application/problem+json"


class PayloadTooLarge(WardroundError):
    http_status = 413
    title = "Request too large"


class FieldError(BaseModel):
    field: str = Field(description="the offending field, 'patient_id' or 'messages.0.content'")
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem document, as every error of this API is sent."""

    type: str = Field(description="urn:wardround:problem:<slug>")
    title: str
    status: int
    detail: str = ""
    errors: list[FieldError] | None = Field(
        default=None, description="422 only: each invalid field"
    )


_PROBLEMS = {
    400: "Bad request",
    401: "Not authenticated (no or unknown bearer token)",
    403: "Forbidden for this role",
    404: "Not found; a patient off the caller's wards is answered exactly as a missing one",
    409: "Conflict (the thread waits for a decision, or a round is already running on it)",
    413: "Request body too large",
    422: "Invalid request: a field failed validation (errors lists each) or an impossible value",
    429: "Too many requests (Retry-After says when to come back)",
    502: "A service behind wardround answered wrongly (the model, the FHIR server, the identity "
    "provider); nothing was recorded",
    503: "Not ready yet, or a service behind wardround (model, FHIR server, knowledge graph, "
    "outbox, audit store) is unavailable; try again later",
    504: "A service behind wardround did not answer in time (for an approval written to a FHIR "
    "server: the outcome is unknown, check the record before deciding again)",
}
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "model": Problem,
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    for status, description in _PROBLEMS.items()
}
"""The problem responses every operation may answer, for the OpenAPI document (422 replaces
FastAPI's own ``HTTPValidationError``, which this API never sends). 500 is not among them: it is
never an intended answer (the schemathesis suite fails on any)."""


def problem(status: int, title: str, detail: str = "", **extra: Any) -> dict[str, Any]:
    slug = title.lower().replace(" ", "-")
    body: dict[str, Any] = {"type": f"urn:wardround:problem:{slug}", "title": title}
    body.update(status=status, detail=detail, **extra)
    return body


def problem_response(
    status: int, title: str, detail: str = "", headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    return JSONResponse(
        problem(status, title, detail, **extra),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def error_problem(error: WardroundError) -> dict[str, Any]:
    return problem(error.http_status, error.title, str(error))


def _field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    # ("body", "patient_id") -> "patient_id"; ("query", "limit") -> "limit"
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or ".".join(str(p) for p in loc)


async def _on_wardround_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, WardroundError)
    headers: dict[str, str] = {}
    if isinstance(error, NotAuthenticated):
        headers["WWW-Authenticate"] = 'Bearer realm="wardround"'
    if isinstance(error, RateLimited):
        headers["Retry-After"] = str(max(1, round(error.retry_after_s)))
    if error.http_status >= 500:
        log.warning("request.failed", error=type(error).__name__)
    return problem_response(error.http_status, error.title, str(error), headers or None)


async def _on_validation_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    errors = [
        {"field": _field_name(e.get("loc", ())), "message": e.get("msg", "")}
        for e in error.errors()
    ]
    named = ", ".join(e["field"] for e in errors)
    return problem_response(422, "Invalid request", f"invalid field(s): {named}", errors=errors)


async def _on_http_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    return problem_response(
        error.status_code, str(error.detail), "", dict(error.headers or {}) or None
    )


async def _on_unexpected(_request: Request, error: Exception) -> JSONResponse:
    log.error("request.crashed", error=type(error).__name__)
    return problem_response(500, "Internal error", "an unexpected error occurred; see server log")


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(WardroundError, _on_wardround_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)


class BodySizeLimit:
    """Pure ASGI middleware: refuse bodies over ``max_bytes`` (declared or streamed) with 413."""

    def __init__(self, app: ASGIApp, max_bytes: int = 64 * 1024) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        seen = 0
        refused = False

        async def limited() -> Message:
            # a body streamed without Content-Length: count it, and answer 413 ourselves once it
            # is over (frameworks turn errors raised while reading a body into a generic 400)
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    refused = True
                    await self._refuse(scope, receive, send)
                    return {"type": "http.disconnect"}
            return message

        async def unless_refused(message: Message) -> None:
            if not refused:
                await send(message)

        await self.app(scope, limited, unless_refused)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            413, PayloadTooLarge.title, f"request body over {self.max_bytes} bytes"
        )
        await response(scope, receive, send)
