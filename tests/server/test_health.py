"""Liveness without a token; readiness reports the model, the KG and the databases."""

from __future__ import annotations

from tests.server.conftest import Server


async def test_healthz_and_readyz(server: Server) -> None:
    assert (await server.client.get("/healthz")).json() == {"status": "ok"}
    response = await server.client.get("/readyz", headers=server.auth("admin"))
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    checks = body["checks"]
    assert checks["model"]["ok"] is True
    assert checks["model"]["structured"] == "json_schema"
    assert checks["kg"]["ok"] is False  # no KG in these tests: degraded, still ready
    assert checks["db"] == {"ok": True, "threads": True, "audit": True, "checkpointer": True}
    assert checks["records"]["ok"] is True
    assert checks["oidc"] == {"ok": True, "detail": "not configured (tokens file only)"}


async def test_unknown_route_is_a_problem(server: Server) -> None:
    response = await server.client.get("/v1/nothing", headers=server.auth("clinician"))
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 404
