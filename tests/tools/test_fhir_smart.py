"""SMART Backend Services against a real-HTTP fake authorization server and FHIR endpoint: the
token endpoint verifies wardround's signed client assertion with the registered public key
(PyJWT), issues expiring tokens and can revoke them; the FHIR endpoint accepts only live ones."""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from core.errors import ConfigurationError
from core.settings import Settings
from tools.fhir.smart import ASSERTION_TYPE, FhirAuthFailed, SmartBackendAuth

FHIR = "http://ehr.invalid/fhir"
TOKEN_URL = "http://ehr.invalid/auth/token"
CLIENT = "wardround-7b"
SCOPE = "system/*.read"


def pem(key: Any) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP384R1())


@dataclass
class FakeAuthServer:
    """The EHR's authorization server and one FHIR read, both over real HTTP semantics."""

    clock: Any = time.time
    """The server's time, which the test moves with wardround's."""
    token_url: str = TOKEN_URL
    """Where the server says its token endpoint is (and the audience it expects)."""
    public_keys: list[Any] = field(default_factory=lambda: [RSA_KEY.public_key()])
    expires_in: int = 300
    discovery: bool = True
    issued: list[str] = field(default_factory=list)
    revoked: set[str] = field(default_factory=set)
    seen_jti: set[str] = field(default_factory=set)
    assertions: list[dict[str, Any]] = field(default_factory=list)
    _n: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def app(self) -> Starlette:
        async def configuration(_: Request) -> JSONResponse:
            if not self.discovery:
                return JSONResponse({}, status_code=404)
            return JSONResponse({"token_endpoint": self.token_url, "grant_types_supported": []})

        async def token(request: Request) -> JSONResponse:
            form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
            if form.get("grant_type") != "client_credentials":
                return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
            if form.get("client_assertion_type") != ASSERTION_TYPE:
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            claims = self._verify(str(form.get("client_assertion")))
            if claims is None or claims["jti"] in self.seen_jti:
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            self.seen_jti.add(claims["jti"])
            self.assertions.append({**claims, "scope": form.get("scope")})
            issued = f"tok-{next(self._n)}"
            self.issued.append(issued)
            return JSONResponse(
                {"access_token": issued, "token_type": "bearer", "expires_in": self.expires_in}
            )

        async def read(request: Request) -> JSONResponse:
            given = request.headers.get("authorization", "").removeprefix("Bearer ")
            if given not in self.issued or given in self.revoked:
                return JSONResponse({"resourceType": "OperationOutcome"}, status_code=401)
            return JSONResponse({"resourceType": "Patient", "id": request.path_params["pid"]})

        return Starlette(
            routes=[
                Route("/fhir/.well-known/smart-configuration", configuration),
                Route("/auth/token", token, methods=["POST"]),
                Route("/fhir/Patient/{pid}", read),
            ]
        )

    def _verify(self, assertion: str) -> dict[str, Any] | None:
        for key in self.public_keys:
            try:
                claims: dict[str, Any] = jwt.decode(
                    assertion,
                    key,
                    algorithms=["RS384", "ES384"],
                    audience=self.token_url,
                    issuer=CLIENT,
                    options={
                        "require": ["exp", "jti", "sub"],
                        "verify_exp": False,
                        "verify_iat": False,
                    },
                )
            except jwt.PyJWTError:
                continue
            now = self.clock()
            fresh = now < claims["exp"] <= now + 300  # unexpired and short-lived (SMART: 5 min)
            return claims if fresh and claims["sub"] == CLIENT else None
        return None


class Clock:
    """Shared by wardround and the fake server, so a test can move time for both."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def server(clock: Clock) -> FakeAuthServer:
    return FakeAuthServer(clock=clock)


@pytest.fixture
async def ehr(
    server: FakeAuthServer, clock: Clock
) -> AsyncIterator[tuple[httpx.AsyncClient, SmartBackendAuth]]:
    auth = SmartBackendAuth(
        fhir_url=FHIR, client_id=CLIENT, private_key=pem(RSA_KEY), scope=SCOPE, clock=clock
    )
    transport = httpx.ASGITransport(app=server.app())
    async with httpx.AsyncClient(transport=transport, auth=auth) as http:
        yield http, auth


async def test_a_token_is_fetched_once_with_a_signed_assertion_and_reused(
    ehr: tuple[httpx.AsyncClient, SmartBackendAuth], server: FakeAuthServer, clock: Clock
) -> None:
    http, auth = ehr
    for pid in ("p1", "p2", "p3"):
        response = await http.get(f"{FHIR}/Patient/{pid}")
        assert response.status_code == 200, response.text
    assert server.issued == ["tok-1"]  # discovered, fetched once, reused
    assert auth.token_url == TOKEN_URL
    [claims] = server.assertions
    assert (claims["iss"], claims["sub"], claims["aud"]) == (CLIENT, CLIENT, TOKEN_URL)
    assert claims["exp"] - clock.now <= 300  # short-lived, as SMART requires
    assert claims["scope"] == SCOPE


async def test_a_token_near_expiry_is_replaced(
    ehr: tuple[httpx.AsyncClient, SmartBackendAuth], server: FakeAuthServer, clock: Clock
) -> None:
    http, _ = ehr
    server.expires_in = 3600
    assert (await http.get(f"{FHIR}/Patient/p1")).status_code == 200
    clock.now += 3600 - 29  # within 30 s of expiry
    server.expires_in = 20  # and the next token is already inside the margin
    assert (await http.get(f"{FHIR}/Patient/p1")).status_code == 200
    assert (await http.get(f"{FHIR}/Patient/p1")).status_code == 200
    assert server.issued == ["tok-1", "tok-2", "tok-3"]
    assert len(server.seen_jti) == 3  # a fresh assertion each time


async def test_a_revoked_token_gets_one_new_token_and_one_retry(
    ehr: tuple[httpx.AsyncClient, SmartBackendAuth], server: FakeAuthServer
) -> None:
    http, _ = ehr
    assert (await http.get(f"{FHIR}/Patient/p1")).status_code == 200
    server.revoked.add("tok-1")
    assert (await http.get(f"{FHIR}/Patient/p1")).status_code == 200
    assert server.issued == ["tok-1", "tok-2"]
    server.revoked.update({"tok-2", "tok-3"})  # still refused after the retry: the 401 stands
    assert (await http.get(f"{FHIR}/Patient/p1")).status_code == 401
    assert server.issued == ["tok-1", "tok-2", "tok-3"]


async def test_a_key_the_server_does_not_know_is_a_clear_error(server: FakeAuthServer) -> None:
    server.public_keys = [rsa.generate_private_key(public_exponent=65537, key_size=2048)]
    server.public_keys = [k.public_key() for k in server.public_keys]
    auth = SmartBackendAuth(fhir_url=FHIR, client_id=CLIENT, private_key=pem(RSA_KEY), scope=SCOPE)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=server.app()), auth=auth) as c:
        with pytest.raises(FhirAuthFailed, match="HTTP 401"):
            await c.get(f"{FHIR}/Patient/p1")


async def test_without_discovery_the_token_url_must_be_configured(server: FakeAuthServer) -> None:
    server.discovery = False
    transport = httpx.ASGITransport(app=server.app())
    auth = SmartBackendAuth(fhir_url=FHIR, client_id=CLIENT, private_key=pem(RSA_KEY), scope=SCOPE)
    async with httpx.AsyncClient(transport=transport, auth=auth) as c:
        with pytest.raises(FhirAuthFailed, match="WARDROUND_FHIR_TOKEN_URL"):
            await c.get(f"{FHIR}/Patient/p1")
    configured = SmartBackendAuth(
        fhir_url=FHIR,
        client_id=CLIENT,
        private_key=pem(RSA_KEY),
        scope=SCOPE,
        token_url=TOKEN_URL,
        clock=server.clock,  # the fake's clock: a slow machine must not age the assertion
    )
    async with httpx.AsyncClient(transport=transport, auth=configured) as c:
        assert (await c.get(f"{FHIR}/Patient/p1")).status_code == 200


async def test_es384_keys_sign_too_and_other_algorithms_are_refused(
    server: FakeAuthServer,
) -> None:
    server.public_keys = [EC_KEY.public_key()]
    auth = SmartBackendAuth(
        fhir_url=FHIR,
        client_id=CLIENT,
        private_key=pem(EC_KEY),
        scope=SCOPE,
        algorithm="ES384",
        clock=server.clock,  # the fake's clock: a slow machine must not age the assertion
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=server.app()), auth=auth) as c:
        assert (await c.get(f"{FHIR}/Patient/p1")).status_code == 200
    with pytest.raises(ConfigurationError, match="RS384"):
        SmartBackendAuth(
            fhir_url=FHIR,
            client_id=CLIENT,
            private_key=pem(RSA_KEY),
            scope=SCOPE,
            algorithm="RS256",
        )


async def test_the_runtime_builds_its_fhir_client_from_the_settings(tmp_path: Path) -> None:
    from server.wiring import fhir_http

    key_file = tmp_path / "wardround.pem"
    key_file.write_text(pem(RSA_KEY), encoding="utf-8")
    settings = Settings(
        data_dir=tmp_path, fhir_url=FHIR, fhir_client_id=CLIENT, fhir_private_key_file=key_file
    )
    async with fhir_http(settings) as http:
        assert isinstance(http.auth, SmartBackendAuth)
        assert "Authorization" not in http.headers
    with pytest.raises(ConfigurationError, match="not both"):
        fhir_http(settings.model_copy(update={"fhir_token": SecretStr("t")}))
    with pytest.raises(ConfigurationError, match="PRIVATE_KEY_FILE"):
        fhir_http(settings.model_copy(update={"fhir_private_key_file": None}))
    with pytest.raises(ConfigurationError, match="cannot read the FHIR client key"):
        fhir_http(settings.model_copy(update={"fhir_private_key_file": tmp_path / "missing.pem"}))
