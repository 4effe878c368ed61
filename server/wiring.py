"""The composition root: Settings → model client, graph store, record source, checkpointer, graph.

The CLI and the HTTP server both build their ward round here, so they cannot drift apart.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from langgraph.graph.state import CompiledStateGraph

from agents.approvals import JsonlOutbox, Outbox
from agents.deps import WardRoundDeps
from core.audit import AuditStore, checkpoint_key
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

log = get_logger(__name__)


@dataclass
class Runtime:
    settings: Settings
    graph: CompiledStateGraph[Any, Any, Any, Any]
    deps: WardRoundDeps
    model_info: ModelInfo
    audit: AuditStore


def open_audit_store(settings: Settings) -> AuditStore:
    from core.audit.cli import configured_key

    key = checkpoint_key(configured_key(settings))
    # a signed checkpoint every 1000 events when a key is configured
    every = 1000 if key else None
    return AuditStore.from_settings(settings, checkpoint_key=key, checkpoint_every=every)


def open_graph_store(settings: Settings) -> Any | None:
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


@asynccontextmanager
async def open_record_source(settings: Settings) -> AsyncIterator[Any]:
    """The configured record source for the life of the block: the FHIR server (its HTTP client
    closed after) or the directory of bundles."""
    if not settings.fhir_url:
        yield record_source(settings)
        return
    from tools.fhir import FhirServerSource

    async with fhir_http(settings) as http:
        yield FhirServerSource(settings.fhir_url, http)


def record_source(settings: Settings) -> Any:
    """The configured record source, for a caller that keeps it for the life of the process
    (LangGraph Studio); others use ``open_record_source``, which closes its client."""
    if settings.fhir_url:
        from tools.fhir import FhirServerSource

        return FhirServerSource(settings.fhir_url, fhir_http(settings))
    from tools.fhir.sources import DirectoryPatientSource

    return DirectoryPatientSource(settings.patients_dir)


@asynccontextmanager
async def open_outbox(settings: Settings) -> AsyncIterator[Outbox]:
    """Where approved writes go: ``<data dir>/outbox.jsonl``, or the FHIR server when
    ``WARDROUND_OUTBOX=fhir`` (which needs ``WARDROUND_FHIR_URL``)."""
    if settings.outbox == "file":
        yield JsonlOutbox(settings.data_dir / "outbox.jsonl")
        return
    if not settings.fhir_url:
        raise ConfigurationError("WARDROUND_OUTBOX=fhir needs WARDROUND_FHIR_URL")
    from tools.fhir.outbox import FhirOutbox

    async with fhir_http(settings) as http:
        yield FhirOutbox(settings.fhir_url, http)


async def model_info(model: ModelClient | None) -> ModelInfo:
    if model is None:
        return ModelInfo(base_url=None, name=None)
    info = ModelInfo(base_url=model.config.base_url, name=model.config.model)
    try:
        caps = await model.capabilities()
    except WardroundError as err:
        log.warning("model.unavailable", reason=str(err)[:200])
        return info
    return info.model_copy(update={"tools": caps.tools, "structured": caps.structured})


@asynccontextmanager
async def open_runtime(settings: Settings, *, use_model: bool = True) -> AsyncIterator[Runtime]:
    async with AsyncExitStack() as stack:
        settings.ensure_data_dir()
        audit = open_audit_store(settings)
        stack.callback(audit.close)
        model = None
        if use_model:
            model = await stack.enter_async_context(
                ModelClient(ModelConfig.from_settings(settings))
            )
            model.observers.append(record_model_call)
            model.tool_observers.append(record_tool_call)
        store = open_graph_store(settings)
        if store is not None:
            stack.callback(store.close)
        deps = WardRoundDeps(
            patients=await stack.enter_async_context(open_record_source(settings)),
            model=model,
            graph_store=audited_graph_store(store),  # every query a kg.query audit event
            round_deadline_s=settings.round_deadline_s,
            max_output_tokens=settings.model_max_output_tokens,
            max_tool_steps=settings.max_tool_steps,
            outbox=await stack.enter_async_context(open_outbox(settings)),
            data_dir=SHIPPED_DATA,
        )
        telemetry = open_telemetry(settings, audit, records=deps.patients.load)
        if telemetry is not None:  # WARDROUND_OTEL_ENDPOINT: each run also goes out as OTel spans
            stack.callback(telemetry.shutdown)
        checkpointer = await stack.enter_async_context(open_checkpointer(settings))
        graph = build_ward_round(deps, checkpointer)
        yield Runtime(settings, graph, deps, await model_info(model), audit)
