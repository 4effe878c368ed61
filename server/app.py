"""The FastAPI app factory.

``create_app(runtime, settings)`` takes either a ready :class:`server.wiring.Runtime` (tests build
one around a scripted model) or a factory that opens one for the life of the app (``wardround
serve`` uses :func:`server.wiring.open_runtime`). All configuration comes from the one
``Settings`` object. Authentication and scope rules: see ``server.auth`` and ``server.deps``.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import structlog
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from core.settings import Settings
from server.auth import RateLimit, RateLimiter, TokenStore, tokens_path
from server.deps import ServerState
from server.problems import PROBLEM_RESPONSES, BodySizeLimit, install_problem_handlers
from server.recovery import finish_unfinished_decisions
from server.routes import (
    approvals,
    audit,
    health,
    metrics,
    openai_compat,
    page,
    patients,
    threads,
)
from server.routes.metrics import Metrics, MetricsMiddleware
from server.thread_store import ThreadStore
from server.wiring import Runtime, open_runtime

RuntimeFactory = Callable[[Settings], AbstractAsyncContextManager[Runtime]]
MAX_BODY_BYTES = 256 * 1024
"""Questions are short (4000 characters at most); chat UIs resend the whole conversation to
``/v1/chat/completions``, so the limit leaves room for a long history."""


class RequestContext:
    """Clears then binds a request id in structlog's contextvars for every request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            structlog.contextvars.clear_contextvars()
            structlog.contextvars.bind_contextvars(request_id=uuid.uuid4().hex[:12])
        await self.app(scope, receive, send)


@asynccontextmanager
async def _sweeping(state: ServerState) -> AsyncIterator[None]:
    """Finish the decisions a crash left half-recorded, in the background (``server.recovery``);
    at shutdown the sweep stops after the thread it is on."""
    stop = asyncio.Event()
    sweep = asyncio.create_task(finish_unfinished_decisions(state, stop))
    try:
        yield
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await sweep


def _default_factory(settings: Settings) -> AbstractAsyncContextManager[Runtime]:
    return open_runtime(settings)


def create_app(
    runtime: Runtime | RuntimeFactory | None = None,
    settings: Settings | None = None,
    *,
    rate_limit: RateLimit | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> FastAPI:
    """Build the app. ``runtime=None`` opens the configured runtime at start-up."""
    settings = settings or Settings()
    settings.ensure_data_dir()
    state = ServerState(
        settings=settings,
        tokens=TokenStore(tokens_path(settings)),
        limiter=RateLimiter(rate_limit or RateLimit()),
        threads=ThreadStore.from_settings(settings),
        runtime=runtime if isinstance(runtime, Runtime) else None,
    )
    factory = None if isinstance(runtime, Runtime) else (runtime or _default_factory)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            if factory is None:
                async with _sweeping(state):
                    yield
            else:
                async with factory(settings) as opened:
                    state.runtime = opened
                    async with _sweeping(state):
                        yield
                    for task in list(state.background):
                        await task  # let rounds in flight finish and checkpoint
                    state.runtime = None
        finally:
            state.threads.close()

    app = FastAPI(
        title="wardround",
        summary="Evidence-grounded ward rounds: chat, OpenAI-compatible facade, health.",
        version="0.1.0",
        lifespan=lifespan,
        responses=PROBLEM_RESPONSES,
    )
    app.state.wardround = state
    app.state.metrics = Metrics()
    install_problem_handlers(app)
    for module in (health, metrics, patients, threads, approvals, openai_compat, audit, page):
        app.include_router(module.router)
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.add_middleware(RequestContext)
    return app
