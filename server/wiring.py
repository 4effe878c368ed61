"""The composition root: ``Settings`` → the ward round's dependencies, audit store, graph.

``build_deps`` is the one place that turns configuration into the round's dependencies (model,
vision model, knowledge graph, record source, outbox, clock) and attaches the audit hooks;
``open_runtime`` adds the audit store, telemetry, checkpointer and compiled graph. The server,
the CLI, LangGraph Studio (``server.studio``), eval record/replay (``evals.record``) and the
tests all build their ward round through them, so none can drift from another.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict, Unpack

import httpx
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph.state import CompiledStateGraph

from agents.approvals import JsonlOutbox, Outbox
from agents.deps import RecordSource, WardRoundDeps, utcnow
from core.audit import AuditStore, checkpoint_key
from core.audit.signing import KEPT_KEY_FILE, kept_key
from core.errors import ConfigurationError, WardroundError
from core.logging import get_logger
from core.model.client import ModelClient
from core.model.types import ModelConfig
from core.settings import SHIPPED_DATA, Settings
from core.telemetry import open_telemetry
from graphs.audit import audited_graph_store, record_model_call, record_tool_call
from graphs.checkpoint import open_checkpointer
from graphs.result import ModelInfo
from graphs.ward_round import build_ward_round
from kg.store import GraphStore
from tools.fhir.sources import DirectoryPatientSource

log = get_logger(__name__)


@dataclass
class Runtime:
    settings: Settings
    graph: CompiledStateGraph[Any, Any, Any, Any]
    deps: WardRoundDeps
    model_info: ModelInfo
    audit: AuditStore


def open_audit_store(settings: Settings) -> AuditStore:
    """The audit store, signing a checkpoint every 1000 events: with ``WARDROUND_AUDIT_KEY``, or
    else with a key generated once and kept in the data dir (said at start-up, since a key
    beside the data protects less than one kept elsewhere)."""
    key = checkpoint_key(settings.audit_key)
    if key is None:
        key = kept_key(settings.data_dir, create=True)
        log.warning(
            "audit.key_in_data_dir",
            file=KEPT_KEY_FILE,
            advice="set WARDROUND_AUDIT_KEY from a secret store kept apart from the data",
        )
    return AuditStore.from_settings(settings, checkpoint_key=key, checkpoint_every=1000)


def open_graph_store(settings: Settings) -> GraphStore | None:
    """The configured KG, read-only; ``None`` (and a warning) if it is not loaded yet."""
    try:
        from kg.store import open_store

        return open_store(settings, read_only=True)
    except (WardroundError, ImportError) as err:
        log.warning("kg.unavailable", reason=str(err)[:200])
        return None


def fhir_http(settings: Settings) -> httpx.AsyncClient:
    """The HTTP client for ``WARDROUND_FHIR_URL``, 30 s timeouts, authorized by SMART Backend
    Services (``WARDROUND_FHIR_CLIENT_ID`` + ``_PRIVATE_KEY_FILE``: ``tools.fhir.smart``) or a
    static bearer token (``WARDROUND_FHIR_TOKEN``); neither key nor token is ever logged."""
    token = settings.fhir_token.get_secret_value() if settings.fhir_token else None
    if settings.fhir_client_id is None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(timeout=30, headers=headers)
    if token is not None:
        raise ConfigurationError("set WARDROUND_FHIR_TOKEN or WARDROUND_FHIR_CLIENT_ID, not both")
    if settings.fhir_private_key_file is None or not settings.fhir_url:
        raise ConfigurationError(
            "WARDROUND_FHIR_CLIENT_ID needs WARDROUND_FHIR_URL and WARDROUND_FHIR_PRIVATE_KEY_FILE"
        )
    from tools.fhir.smart import SmartBackendAuth

    auth = SmartBackendAuth.from_key_file(
        settings.fhir_private_key_file,
        fhir_url=settings.fhir_url,
        client_id=settings.fhir_client_id,
        scope=settings.fhir_scopes,
        algorithm=settings.fhir_key_algorithm,
        key_id=settings.fhir_key_id,
        token_url=settings.fhir_token_url,
    )
    return httpx.AsyncClient(timeout=30, auth=auth)


STARTUP_PROBE_S = 5.0
"""How long start-up waits for the model's capability probe. A model that has not answered by
then is reported unavailable and probed again by the first round, inside that round's deadline:
start-up never waits on the model (a hanging model once held ``/healthz`` silent for 243 s)."""


async def model_info(model: ModelClient | None, *, within_s: float = STARTUP_PROBE_S) -> ModelInfo:
    if model is None:
        return ModelInfo(base_url=None, name=None)
    info = ModelInfo(base_url=model.config.base_url, name=model.config.model)
    try:
        async with asyncio.timeout(within_s):
            caps = await model.capabilities()
    except TimeoutError:
        log.warning("model.unavailable", reason=f"no capability probe answer in {within_s:g} s")
        return info
    except WardroundError as err:
        log.warning("model.unavailable", reason=str(err)[:200])
        return info
    return info.model_copy(update={"tools": caps.tools, "structured": caps.structured})


class Given(TypedDict, total=False):
    """What a caller hands ``build_deps`` ready-made; ``None`` or left out: built from settings."""

    model: ModelClient | None
    vision: ModelClient | None
    graph_store: GraphStore | None
    patients: RecordSource | None
    outbox: Outbox | None
    clock: Callable[[], datetime] | None


def build_deps(
    settings: Settings,
    *,
    use_model: bool = True,
    use_kg: bool = True,
    closing: AsyncExitStack | None = None,
    **given: Unpack[Given],
) -> WardRoundDeps:
    """The ward round's dependencies: what ``given`` holds (a test's scripted model, an eval's
    stored record, a fixed clock) as is, everything else built from ``settings``.

    - the reasoning model (``WARDROUND_MODEL_*``) and the vision model (``WARDROUND_VISION_*``,
      when configured), unless ``use_model`` is false: then only a model that is given is used
      (none: degraded mode);
    - the knowledge graph (read-only; ``None`` with a warning when not loaded) unless ``use_kg``
      is false;
    - the record source and the outbox (``WARDROUND_FHIR_URL``, ``WARDROUND_OUTBOX``).

    The audit hooks are attached here, once, to whatever model and graph store the round gets
    (given or built): every model call, tool call and KG query of a recorded run is audited.
    What is built here is closed with ``closing``; without one it lives as long as the process
    (LangGraph Studio). What is given stays the caller's to close.
    """
    closing = closing or AsyncExitStack()
    clock = given.get("clock") or utcnow
    model = given.get("model") or (_model(settings, closing) if use_model else None)
    vision = given.get("vision") or (_vision(settings, closing) if use_model else None)
    for client in (model, vision):
        if client is not None:
            _audit_calls(client)
    store = given.get("graph_store") or (_graph_store(settings, closing) if use_kg else None)
    return WardRoundDeps(
        patients=given.get("patients") or _records(settings, closing, clock),
        model=model,
        vision=vision,
        graph_store=audited_graph_store(store),  # every query a kg.query audit event
        clock=clock,
        round_deadline_s=settings.round_deadline_s,
        max_output_tokens=settings.model_max_output_tokens,
        max_tool_steps=settings.max_tool_steps,
        outbox=given.get("outbox") or _outbox(settings, closing),
        data_dir=SHIPPED_DATA,
    )


def _model(settings: Settings, closing: AsyncExitStack) -> ModelClient:
    model = ModelClient(ModelConfig.from_settings(settings))
    closing.push_async_callback(model.aclose)
    return model


def _vision(settings: Settings, closing: AsyncExitStack) -> ModelClient | None:
    """The vision-language model of ``WARDROUND_VISION_*``: the reasoning model's timeouts,
    retries and limits, its own endpoint, name and (else the reasoning model's) API key."""
    if not settings.vision_base_url and not settings.vision_model_name:
        return None
    if not settings.vision_base_url or not settings.vision_model_name:
        raise ConfigurationError(
            "a vision model needs both WARDROUND_VISION_BASE_URL and WARDROUND_VISION_MODEL_NAME"
        )
    key = settings.vision_api_key or settings.model_api_key
    config = dataclasses.replace(
        ModelConfig.from_settings(settings),
        base_url=settings.vision_base_url,
        model=settings.vision_model_name,
        api_key=key.get_secret_value(),
    )
    vision = ModelClient(config)
    closing.push_async_callback(vision.aclose)
    return vision


def _audit_calls(client: ModelClient) -> None:
    if record_model_call not in client.observers:
        client.observers.append(record_model_call)
    if record_tool_call not in client.tool_observers:
        client.tool_observers.append(record_tool_call)


def _graph_store(settings: Settings, closing: AsyncExitStack) -> GraphStore | None:
    store = open_graph_store(settings)
    if store is not None:
        closing.callback(store.close)
    return store


def _records(
    settings: Settings, closing: AsyncExitStack, clock: Callable[[], datetime]
) -> RecordSource:
    """The FHIR server of ``WARDROUND_FHIR_URL``, else the bundles of ``WARDROUND_PATIENTS_DIR``;
    either checks the newest ``WARDROUND_MAX_OBSERVATIONS`` results of a record, on the round's
    clock (future dates are flagged against the time the round runs on)."""
    bound = settings.max_observations
    if not settings.fhir_url:
        return DirectoryPatientSource(settings.patients_dir, clock=clock, max_observations=bound)
    from tools.fhir import FhirServerSource

    http = fhir_http(settings)
    closing.push_async_callback(http.aclose)
    return FhirServerSource(settings.fhir_url, http, clock=clock, max_observations=bound)


def _outbox(settings: Settings, closing: AsyncExitStack) -> Outbox:
    """Where approved writes go: ``<data dir>/outbox.jsonl``, or the FHIR server when
    ``WARDROUND_OUTBOX=fhir`` (which needs ``WARDROUND_FHIR_URL``)."""
    if settings.outbox == "file":
        return JsonlOutbox(settings.data_dir / "outbox.jsonl")
    if not settings.fhir_url:
        raise ConfigurationError("WARDROUND_OUTBOX=fhir needs WARDROUND_FHIR_URL")
    from tools.fhir.outbox import FhirOutbox

    http = fhir_http(settings)
    closing.push_async_callback(http.aclose)
    return FhirOutbox(settings.fhir_url, http)


@asynccontextmanager
async def open_runtime(
    settings: Settings,
    *,
    use_model: bool = True,
    checkpointer: BaseCheckpointSaver[Any] | None = None,
    **given: Unpack[Given],
) -> AsyncIterator[Runtime]:
    """Everything a ward round runs on, for the life of the block: the audit store, the
    dependencies (``build_deps``; ``given`` as there), telemetry, the checkpointer (the
    configured one unless given) and the compiled graph. The CLI, the server and its tests."""
    async with AsyncExitStack() as stack:
        settings.ensure_data_dir()
        audit = open_audit_store(settings)
        stack.callback(audit.close)
        deps = build_deps(settings, use_model=use_model, closing=stack, **given)
        telemetry = open_telemetry(settings, audit, records=deps.patients.load)
        if telemetry is not None:  # WARDROUND_OTEL_ENDPOINT: each run also goes out as OTel spans
            stack.callback(telemetry.shutdown)
        if checkpointer is None:
            checkpointer = await stack.enter_async_context(open_checkpointer(settings))
        graph = build_ward_round(deps, checkpointer)
        yield Runtime(settings, graph, deps, await model_info(deps.model), audit)
