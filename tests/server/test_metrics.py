"""``/metrics``: Prometheus text by route template, behind a token."""

from __future__ import annotations

from tests.server.conftest import OWN, Server


async def test_metrics_count_by_route_template(server: Server) -> None:
    assert (await server.client.get("/metrics")).status_code == 401
    opened = await server.client.post(
        "/v1/threads", json={"patient_id": OWN}, headers=server.auth("clinician")
    )
    thread = opened.json()["id"]
    await server.client.get(f"/v1/threads/{thread}", headers=server.auth("clinician"))
    response = await server.client.get("/metrics", headers=server.auth("auditor"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    assert 'wardround_http_requests_total{method="POST",route="/v1/threads",status="201"} 1' in text
    assert 'route="/v1/threads/{thread_id}",status="200"} 1' in text
    assert 'wardround_http_requests_total{method="GET",route="/metrics",status="401"} 1' in text
    assert thread not in text  # templates, never raw paths
    assert "wardround_http_request_duration_seconds_bucket" in text
    assert "wardround_ready 1.0" in text
