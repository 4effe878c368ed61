"""``GET /metrics``: Prometheus text exposition (format 0.0.4), no client library needed.

Requests are counted and timed per route template (never the raw path: thread ids would explode
the label set, and paths may name patients). An SSE response is timed until its stream ends, so
the duration of ``POST .../messages`` is the duration of the round.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.logging import get_logger
from server.deps import CurrentUser, ServerDeps

log = get_logger(__name__)
router = APIRouter(tags=["health"])
BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


@dataclass
class _Histogram:
    buckets: list[int] = field(default_factory=lambda: [0] * len(BUCKETS))
    total: float = 0.0
    count: int = 0

    def observe(self, seconds: float) -> None:
        for i, bound in enumerate(BUCKETS):
            if seconds <= bound:
                self.buckets[i] += 1
        self.total += seconds
        self.count += 1


@dataclass
class Metrics:
    requests: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    durations: dict[tuple[str, str], _Histogram] = field(default_factory=dict)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests[(method, route, str(status))] += 1
        self.durations.setdefault((method, route), _Histogram()).observe(seconds)

    def render(self, gauges: dict[str, tuple[str, float]]) -> str:
        lines = [
            "# HELP wardround_http_requests_total HTTP requests by route template and status.",
            "# TYPE wardround_http_requests_total counter",
        ]
        for (method, route, status), n in sorted(self.requests.items()):
            labels = f'method="{method}",route="{route}",status="{status}"'
            lines.append(f"wardround_http_requests_total{{{labels}}} {n}")
        name = "wardround_http_request_duration_seconds"
        lines += [
            f"# HELP {name} Time to the end of the response (SSE: the whole round).",
            f"# TYPE {name} histogram",
        ]
        for (method, route), hist in sorted(self.durations.items()):
            labels = f'method="{method}",route="{route}"'
            for bound, n in zip(BUCKETS, hist.buckets, strict=True):
                lines.append(f'{name}_bucket{{{labels},le="{bound}"}} {n}')
            lines.append(f'{name}_bucket{{{labels},le="+Inf"}} {hist.count}')
            lines.append(f"{name}_sum{{{labels}}} {hist.total:.6f}")
            lines.append(f"{name}_count{{{labels}}} {hist.count}")
        for gauge, (help_text, value) in sorted(gauges.items()):
            lines += [f"# HELP {gauge} {help_text}", f"# TYPE {gauge} gauge", f"{gauge} {value}"]
        return "\n".join(lines) + "\n"


class MetricsMiddleware:
    """Counts and times every HTTP request by the route template it matched."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            took = time.monotonic() - started
            self.metrics.observe(scope["method"], route, status, took)
            # the access log, by route template: a raw path or query names patients (uvicorn's
            # own access log is off in ``wardround serve`` for that reason)
            log.info(
                "http.request",
                method=scope["method"],
                route=route,
                status=status,
                duration_ms=round(took * 1000, 1),
            )


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(request: Request, state: ServerDeps, _user: CurrentUser) -> PlainTextResponse:
    collected: Metrics = request.app.state.metrics
    gauges = {
        "wardround_rounds_in_flight": ("Ward rounds running now.", float(len(state.background))),
        "wardround_ready": ("1 when the ward round graph is loaded.", float(bool(state.runtime))),
    }
    return PlainTextResponse(
        collected.render(gauges), media_type="text/plain; version=0.0.4; charset=utf-8"
    )
