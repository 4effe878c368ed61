"""Shared fixtures: the network guard, scripted models over the real OpenAI protocol, the ward
round's dependencies from the composition root, and the real embedded knowledge graph with the
curated facts.

The guard: any HTTP request from httpx to a non-loopback host fails the test (and is recorded),
so no test can reach a live model or any other outside service by accident.
"""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, Protocol, Unpack

import httpx
import pytest
import structlog

from agents.deps import WardRoundDeps
from core.model.client import ModelClient
from core.model.transcript_server import Script, TranscriptServer
from core.model.types import ModelCapabilities, ModelConfig
from core.settings import Settings
from kg.load import load_ladybug
from kg.open_data import Scope
from kg.store import GraphStore, open_store
from server.wiring import Given, build_deps

_LOOPBACK_NAMES = {"localhost", "transcript.invalid", "testserver", "fhir.invalid"}


def _is_local(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def logging_as_found() -> Iterator[None]:
    """A test that runs the CLI in-process configures structlog for the whole process (a level
    filter, a renderer); put back what was there, so no later test's logs depend on the order."""
    before = structlog.get_config()
    yield
    structlog.configure(**before)


@pytest.fixture(autouse=True)
def network_guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    violations: list[str] = []
    real_async = httpx.AsyncHTTPTransport.handle_async_request
    real_sync = httpx.HTTPTransport.handle_request

    def check(request: httpx.Request) -> None:
        if not _is_local(request.url.host):
            violations.append(str(request.url))
            raise httpx.ConnectError(f"network guard: {request.url.host} is not loopback")

    async def guarded_async(self: httpx.AsyncHTTPTransport, request: httpx.Request) -> Any:
        check(request)
        return await real_async(self, request)

    def guarded_sync(self: httpx.HTTPTransport, request: httpx.Request) -> Any:
        check(request)
        return real_sync(self, request)

    monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", guarded_async)
    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", guarded_sync)
    yield violations
    if violations:
        pytest.fail(f"unexpected non-loopback HTTP requests: {violations}")


class NoSleep:
    """Records the backoff delays the client asks for, without waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def no_sleep() -> NoSleep:
    return NoSleep()


ModelFactory = Callable[..., tuple[TranscriptServer, ModelClient]]


@pytest.fixture
async def scripted_model(no_sleep: NoSleep) -> AsyncIterator[ModelFactory]:
    """Build (server, client): a scripted transcript server and a real client wired in-process."""
    clients: list[ModelClient] = []
    transports: list[httpx.AsyncClient] = []

    def make(
        script: Script,
        *,
        profile: ModelCapabilities | None = None,
        probe: bool = False,
        **config: Any,
    ) -> tuple[TranscriptServer, ModelClient]:
        server = TranscriptServer(script=script, profile=profile, model_name="scripted")
        cfg = ModelConfig(base_url=server.base_url_inprocess, model="scripted", **config)
        http = server.http_client()
        transports.append(http)
        client = ModelClient(
            cfg,
            http_client=http,
            capabilities=None if probe else server.profile,
            sleep=no_sleep,
        )
        clients.append(client)
        return server, client

    yield make
    for client in clients:
        await client.aclose()
    for http in transports:
        await http.aclose()


class DepsFactory(Protocol):
    def __call__(
        self, *, settings: dict[str, Any] | None = None, **given: Unpack[Given]
    ) -> WardRoundDeps: ...


@pytest.fixture
def round_deps(tmp_path: Path) -> DepsFactory:
    """The ward round's dependencies from the composition root (``server.wiring.build_deps``) with
    what the test gives: its scripted model (none: degraded, never a live one), records, KG
    (none: no KG), clock, outbox; the rest from ``Settings`` over a fresh data dir, with any
    ``settings`` the test sets (``{"max_tool_steps": 2}``)."""

    def make(*, settings: dict[str, Any] | None = None, **given: Unpack[Given]) -> WardRoundDeps:
        return build_deps(
            Settings(data_dir=tmp_path / "wardround", **(settings or {})),
            use_model=given.get("model") is not None,
            use_kg=given.get("graph_store") is not None,
            **given,
        )

    return make


def loaded_kg(tmp_path_factory: pytest.TempPathFactory, scope: Scope) -> Iterator[GraphStore]:
    """A real embedded KG loaded with ``scope`` into a fresh directory, open read-only."""
    settings = Settings(data_dir=tmp_path_factory.mktemp(f"kg-{scope}"))
    settings.kg_path.parent.mkdir(parents=True)
    load_ladybug(settings.kg_path, scope=scope, show_progress=False)
    graph_store = open_store(settings, read_only=True)
    yield graph_store
    graph_store.close()


@pytest.fixture(scope="session")
def curated_kg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphStore]:
    """The real embedded KG with the curated facts only (no HPO/ICD open data), loaded once."""
    yield from loaded_kg(tmp_path_factory, "none")
