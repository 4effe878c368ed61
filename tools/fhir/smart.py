"""SMART Backend Services: how wardround, as a system, gets an access token for the FHIR server.

The FHIR server's authorization server knows wardround as a client with a registered public key.
wardround signs a short-lived JWT (the *client assertion*: ``iss`` = ``sub`` = client id, ``aud``
= the token endpoint, ``exp`` in 5 minutes, a fresh ``jti``) with its private key (RS384 or
ES384, as the SMART profile requires) and exchanges it at the token endpoint for an access token
(OAuth 2.0 ``client_credentials`` with ``private_key_jwt``). See HL7 SMART App Launch 2.x,
"Backend Services".

``SmartBackendAuth`` is an ``httpx.Auth``: every request to the FHIR server gets the current
token; a token is fetched when there is none or it is within ``REFRESH_MARGIN_S`` of expiry;
a 401 from the FHIR server (token revoked) gets one new token and one retry. The token endpoint
is found from ``{fhir}/.well-known/smart-configuration`` when not configured. Neither the key nor
any token is ever logged.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Generator
from pathlib import Path
from typing import Any

import httpx
import jwt

from core.errors import ConfigurationError, WardroundError

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME_S = 300
REFRESH_MARGIN_S = 30
SMART_ALGORITHMS = ("RS384", "ES384")


class FhirAuthFailed(WardroundError):
    """The FHIR server's authorization server did not issue wardround a token."""

    http_status = 502
    title = "FHIR authorization failed"


class SmartBackendAuth(httpx.Auth):
    """Bearer tokens from a SMART Backend Services token endpoint (see the module)."""

    requires_response_body = True

    def __init__(
        self,
        *,
        fhir_url: str,
        client_id: str,
        private_key: str,
        scope: str,
        algorithm: str = "RS384",
        key_id: str | None = None,
        token_url: str | None = None,
        clock: Any = time.time,
    ) -> None:
        if algorithm not in SMART_ALGORITHMS:
            raise ConfigurationError(f"SMART backend services sign with {SMART_ALGORITHMS}")
        self.fhir_url = fhir_url.rstrip("/")
        self.client_id = client_id
        self.scope = scope
        self.token_url = token_url
        self._key = private_key
        self._algorithm = algorithm
        self._key_id = key_id
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0

    @classmethod
    def from_key_file(cls, path: Path, **kwargs: Any) -> SmartBackendAuth:
        try:
            key = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigurationError(f"cannot read the FHIR client key {path}: {exc}") from exc
        return cls(private_key=key, **kwargs)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._token is None or self._clock() >= self._expires_at - REFRESH_MARGIN_S:
            yield from self._fetch_token()
        request.headers["Authorization"] = f"Bearer {self._token}"
        response = yield request
        if response.status_code == 401:  # revoked or expired early: one new token, one retry
            yield from self._fetch_token()
            request.headers["Authorization"] = f"Bearer {self._token}"
            yield request

    def _fetch_token(self) -> Generator[httpx.Request, httpx.Response, None]:
        if self.token_url is None:
            found = yield httpx.Request(
                "GET",
                f"{self.fhir_url}/.well-known/smart-configuration",
                headers={"Accept": "application/json"},
            )
            self.token_url = _token_endpoint(found)
        response = yield httpx.Request(
            "POST",
            self.token_url,
            data={
                "grant_type": "client_credentials",
                "scope": self.scope,
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": self._assertion(self.token_url),
            },
            headers={"Accept": "application/json"},
        )
        if response.status_code != 200:
            raise FhirAuthFailed(f"token endpoint answered HTTP {response.status_code}")
        body = response.json()
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise FhirAuthFailed("token endpoint answered without an access_token")
        self._token = token
        self._expires_at = self._clock() + float(body.get("expires_in") or 300)

    def _assertion(self, audience: str) -> str:
        now = int(self._clock())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": audience,
            "exp": now + ASSERTION_LIFETIME_S,
            "iat": now,
            "jti": uuid.uuid4().hex,
        }
        headers = {"kid": self._key_id} if self._key_id else None
        try:
            return jwt.encode(claims, self._key, algorithm=self._algorithm, headers=headers)
        except (ValueError, TypeError, jwt.PyJWTError) as exc:
            raise ConfigurationError(
                f"the FHIR client key cannot sign {self._algorithm}: {type(exc).__name__}"
            ) from exc


def _token_endpoint(response: httpx.Response) -> str:
    if response.status_code == 200:
        endpoint = response.json().get("token_endpoint")
        if isinstance(endpoint, str) and endpoint.startswith(("https://", "http://")):
            return endpoint
    raise FhirAuthFailed(
        "no token endpoint: set WARDROUND_FHIR_TOKEN_URL or serve "
        f".well-known/smart-configuration (HTTP {response.status_code})"
    )
