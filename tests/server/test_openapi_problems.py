"""The OpenAPI document tells the truth about errors: every operation lists the RFC 9457 problem
responses it may answer (400, 401, 403, 404, 409, 413, 422, 429) with the ``Problem`` schema,
and the 422 it documents is the problem this API sends, not FastAPI's ``HTTPValidationError``."""

from __future__ import annotations

import json

from server.problems import PROBLEM_JSON, Problem
from tests.server.conftest import Server


async def test_every_operation_documents_its_problem_responses(server: Server) -> None:
    spec = (await server.client.get("/openapi.json")).json()
    assert "HTTPValidationError" not in json.dumps(spec)
    operations = [
        (path, method, op)
        for path, methods in spec["paths"].items()
        for method, op in methods.items()
        if path.startswith("/v1/")
    ]
    assert len(operations) > 10
    for path, method, op in operations:
        for status in ("400", "401", "403", "404", "409", "422", "429"):
            documented = op["responses"].get(status)
            assert documented is not None, (method, path, status)
            schema = documented["content"][PROBLEM_JSON]["schema"]
            assert schema == {"$ref": "#/components/schemas/Problem"}, (method, path, status)


async def test_the_problems_sent_match_the_documented_schema(server: Server) -> None:
    invalid = await server.client.post(
        "/v1/threads", json={"patient_id": 5}, headers=server.auth("clinician")
    )
    anonymous = await server.client.get("/v1/patients")
    missing = await server.client.post(
        "/v1/threads", json={"patient_id": "nobody"}, headers=server.auth("clinician")
    )
    for response, status in ((invalid, 422), (anonymous, 401), (missing, 404)):
        assert response.status_code == status
        assert response.headers["content-type"] == PROBLEM_JSON
        Problem.model_validate_json(response.content, strict=True)
    assert Problem.model_validate_json(invalid.content).errors
