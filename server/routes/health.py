"""Liveness (``/healthz``, no token) and readiness (``/readyz``: model, KG, databases, patient
records, OIDC)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from core.errors import WardroundError
from server.auth import Principal
from server.deps import CurrentUser, ServerDeps

router = APIRouter(tags=["health"])
PROBE_TIMEOUT_S = 5.0


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up (no token needed, nothing about patients)."""
    return {"status": "ok"}


async def _model_check(state: ServerDeps) -> dict[str, Any]:
    runtime = state.runtime
    if runtime is None or runtime.deps.model is None:
        return {"ok": False, "detail": "no model configured (degraded mode)"}
    try:
        caps = await asyncio.wait_for(runtime.deps.model.capabilities(), PROBE_TIMEOUT_S)
    except (WardroundError, TimeoutError) as err:
        return {"ok": False, "detail": type(err).__name__}
    return {
        "ok": caps.reachable,
        "name": runtime.model_info.name,
        "tools": caps.tools,
        "structured": caps.structured,
    }


def _kg_check(state: ServerDeps) -> dict[str, Any]:
    runtime = state.runtime
    if runtime is None or runtime.deps.graph_store is None:
        return {"ok": False, "detail": "knowledge graph not loaded (guideline checks degraded)"}
    return {"ok": True, "backend": type(runtime.deps.graph_store).__name__}


def _ping_audit(audit: Any) -> None:
    with audit.engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")


async def _db_check(state: ServerDeps) -> dict[str, Any]:
    audit = getattr(state.runtime, "audit", None)
    try:
        await state.threads.ping()
        if audit is not None:
            await asyncio.to_thread(_ping_audit, audit)
    except Exception as err:  # any driver error means "not ready"
        return {"ok": False, "detail": type(err).__name__}
    return {"ok": True, "threads": True, "audit": audit is not None, "checkpointer": True}


async def _records_check(state: ServerDeps, user: Principal) -> dict[str, Any]:
    """The patient record source: the FHIR server's CapabilityStatement, or the bundles dir
    with the bundles it could not read: named for administrators, counted for others (a
    bundle's file name is its patient's id)."""
    patients = getattr(getattr(state.runtime, "deps", None), "patients", None)
    status = getattr(patients, "status", None)
    if status is None:
        return {"ok": patients is not None, "detail": "no status to report"}
    try:
        report: dict[str, Any] = await asyncio.wait_for(status(), PROBE_TIMEOUT_S)
    except (WardroundError, TimeoutError) as err:
        return {"ok": False, "detail": type(err).__name__}
    unreadable = report.get("unreadable")
    if unreadable is not None and user.role != "admin":
        report = {**report, "unreadable": len(unreadable)}
    return report


async def _oidc_check(state: ServerDeps) -> dict[str, Any]:
    if state.oidc is None:
        return {"ok": True, "detail": "not configured (tokens file only)"}
    try:
        return await asyncio.wait_for(state.oidc.status(), PROBE_TIMEOUT_S)
    except TimeoutError:
        return {"ok": False, "detail": "identity provider did not answer in time"}


READYZ_RESPONSES: dict[int | str, dict[str, Any]] = {
    503: {
        "description": "Not ready: the same body as 200 (status 'not ready'), failing checks named",
        "content": {"application/json": {"schema": {}}},
    }
}


@router.get("/readyz", responses=READYZ_RESPONSES)
async def readyz(state: ServerDeps, user: CurrentUser) -> JSONResponse:
    """Each dependency reported; 503 unless the round can run: the databases answer and the
    patient records can be read.

    A missing model or KG does not make the server unready: the round runs degraded and says so.
    Nor does an unreachable identity provider: tokens-file users and cached keys still work.
    """
    checks = {
        "model": await _model_check(state),
        "kg": _kg_check(state),
        "db": await _db_check(state),
        "records": await _records_check(state, user),
        "graph": {"ok": state.runtime is not None},
        "oidc": await _oidc_check(state),
    }
    ready = checks["db"]["ok"] and checks["graph"]["ok"] and checks["records"]["ok"]
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )
