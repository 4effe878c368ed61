"""OIDC/JWT bearer tokens: an identity provider's signed tokens, mapped to a ``Principal``.

Optional (``WARDROUND_OIDC_ISSUER``, ``WARDROUND_OIDC_AUDIENCE``, and ``WARDROUND_OIDC_JWKS_URL``
or else OIDC discovery from the issuer); the hashed tokens file keeps working beside it. A token
is accepted only if:

- its header names an asymmetric algorithm we allow (RS256 or ES256): ``none`` and the HMAC
  family are refused before anything else, so a public key can never be used as an HMAC secret;
- its ``kid`` names a key in the provider's JWKS (fetched over HTTP, cached, fetched again when an
  unknown ``kid`` appears: the provider rotated its keys; refetches are spaced so random ``kid``
  values cannot make us hammer the provider), of the algorithm's key type;
- its signature verifies, ``iss`` is the issuer, ``aud`` holds the audience, ``exp``/``nbf`` hold
  (with a small leeway for clock skew), and it has a ``sub``.

Claims map to the principal: ``sub`` → id (prefixed ``oidc:`` so it can never collide with a
tokens-file user id), a name claim, a role claim (one of clinician|auditor|admin; a string, or a
list holding exactly one of them) and a wards claim (a list, or a space/comma separated string).
Claim names may be dotted paths into nested claims (``realm_access.roles``).

Failures are 401 problems that say what was wrong (expired, wrong audience, unknown key...) and
never echo the token; an unreachable JWKS is a 503. Tokens are never logged.

Sign-in on the ward page (``sign_in``): the authorization code flow with PKCE (RFC 7636, S256)
as a public browser client: the page gets the provider's endpoints from ``GET /v1/auth/config``
(the provider's discovery document, issuer checked), sends the user to the provider, and trades
the code and its verifier for an access token at the provider's token endpoint itself. The
client id is ``WARDROUND_OIDC_AUDIENCE`` (the tokens' ``aud``); the provider must allow the
page's address as a redirect URI and CORS origin. The server never sees the user's password.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
from jwt import PyJWK

from core.errors import NotAuthenticated, WardroundError
from core.logging import get_logger
from core.settings import Settings
from server.auth import ROLES, Principal, Role

log = get_logger(__name__)

ALGORITHMS = ("RS256", "ES256")
"""The only signing algorithms accepted: asymmetric, widely issued. Never ``none``, never HS*."""
_KEY_TYPES = {"RS256": "RSA", "ES256": "EC"}
_WARD_SPLIT = re.compile(r"[\s,]+")
FETCH_TIMEOUT = httpx.Timeout(5.0)
DISCOVERY_PATH = ".well-known/openid-configuration"


class IdentityProviderUnavailable(WardroundError):
    """The provider's signing keys could not be fetched: we cannot tell a good token from a bad."""

    http_status = 503
    title = "Identity provider unavailable"


@dataclass(frozen=True)
class OidcConfig:
    issuer: str
    audience: str
    jwks_url: str | None = None
    """None: found through OIDC discovery (``<issuer>/.well-known/openid-configuration``)."""
    role_claim: str = "wardround_role"
    wards_claim: str = "wardround_wards"
    name_claim: str = "name"
    leeway_s: float = 30.0
    jwks_max_age_s: float = 300.0
    jwks_min_refetch_s: float = 10.0
    """Fetch the JWKS again for an unknown ``kid`` at most this often."""

    @classmethod
    def from_settings(cls, settings: Settings) -> OidcConfig | None:
        if not settings.oidc_issuer:
            return None
        if not settings.oidc_audience:
            raise ValueError(
                "WARDROUND_OIDC_ISSUER is set: set WARDROUND_OIDC_AUDIENCE (this service's "
                "client id, the tokens' 'aud') too"
            )
        return cls(
            issuer=settings.oidc_issuer,
            audience=settings.oidc_audience,
            jwks_url=settings.oidc_jwks_url,
            role_claim=settings.oidc_role_claim,
            wards_claim=settings.oidc_wards_claim,
            name_claim=settings.oidc_name_claim,
            leeway_s=settings.oidc_leeway_s,
            jwks_min_refetch_s=settings.oidc_jwks_min_refetch_s,
        )


def looks_like_jwt(token: str) -> bool:
    parts = token.split(".")
    return len(parts) == 3 and all(parts[:2])


class _Keys:
    """The provider's JWKS: cached, refetched when stale or when a token names an unknown kid."""

    def __init__(self, config: OidcConfig) -> None:
        self.config = config
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()
        self._jwks_url = config.jwks_url

    async def key(self, kid: str) -> PyJWK:
        stale = self._fetched_at is None or (
            time.monotonic() - self._fetched_at > self.config.jwks_max_age_s
        )
        if stale or kid not in self._keys:
            try:
                await self._refresh(force=stale)
            except IdentityProviderUnavailable:
                if kid not in self._keys:
                    raise
                # the provider is down but this key was good a moment ago: keep using it
        found = self._keys.get(kid)
        if found is None:
            raise NotAuthenticated("token signed with an unknown key (kid not in the JWKS)")
        return found

    async def status(self) -> dict[str, Any]:
        """For ``/readyz``: can we get the signing keys now (a recent fetch counts)?"""
        try:
            await self._refresh(force=False)
        except IdentityProviderUnavailable as err:
            return {"ok": False, "detail": str(err)[:200], "cached_keys": len(self._keys)}
        return {"ok": bool(self._keys), "keys": len(self._keys)}

    async def _refresh(self, *, force: bool) -> None:
        async with self._lock:
            recent = self._fetched_at is not None and (
                time.monotonic() - self._fetched_at < self.config.jwks_min_refetch_s
            )
            if recent and not force:
                return  # fetched a moment ago (maybe by a concurrent request): keep it
            self._keys = await self._fetch()
            self._fetched_at = time.monotonic()

    async def _fetch(self) -> dict[str, PyJWK]:
        url = self._jwks_url or await self._discover()
        document = await _get_json(url, "signing keys")
        keys: dict[str, PyJWK] = {}
        for data in document.get("keys", []):
            kid = data.get("kid") if isinstance(data, dict) else None
            if not kid or data.get("use", "sig") != "sig":
                continue
            try:
                keys[kid] = PyJWK(data)
            except jwt.PyJWTError:
                continue  # a key type or curve we do not use: not ours to judge
        log.info("auth.oidc.jwks_fetched", keys=len(keys))
        return keys

    async def _discover(self) -> str:
        """The provider's ``jwks_uri`` from its discovery document (OIDC Discovery 1.0, §4)."""
        issuer = self.config.issuer
        document = await _get_json(f"{issuer.rstrip('/')}/{DISCOVERY_PATH}", "discovery document")
        if document.get("issuer") != issuer:
            # Discovery §4.3: the document's issuer must be exactly the issuer asked about
            raise IdentityProviderUnavailable(
                f"the discovery document names issuer {str(document.get('issuer'))[:200]!r}, "
                f"not {issuer!r}"
            )
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not jwks_uri.startswith(("https://", "http://")):
            raise IdentityProviderUnavailable("the discovery document has no jwks_uri")
        self._jwks_url = jwks_uri
        return jwks_uri


async def _get_json(url: str, what: str) -> dict[str, Any]:
    try:
        # a client per fetch: fetches are rare (cached keys), and nothing stays open
        async with httpx.AsyncClient(timeout=FETCH_TIMEOUT) as http:
            response = await http.get(url)
        response.raise_for_status()
        document = response.json()
    except (httpx.HTTPError, json.JSONDecodeError) as err:
        log.warning("auth.oidc.unavailable", fetching=what, reason=type(err).__name__)
        raise IdentityProviderUnavailable(
            f"could not fetch the identity provider's {what} from {url}"
        ) from err
    if not isinstance(document, dict):
        raise IdentityProviderUnavailable(
            f"the identity provider's {what} at {url} is not a JSON object"
        )
    return document


_REJECTIONS: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
    (jwt.ExpiredSignatureError, "token expired"),
    (jwt.ImmatureSignatureError, "token not valid yet (nbf/iat in the future)"),
    (jwt.InvalidAudienceError, "token is not for this service (wrong audience)"),
    (jwt.InvalidIssuerError, "token issued by an untrusted issuer"),
    (jwt.InvalidSignatureError, "token signature does not verify"),
    (jwt.MissingRequiredClaimError, "token lacks a required claim"),
    (jwt.InvalidAlgorithmError, "token algorithm does not match its key"),
    (jwt.DecodeError, "malformed token"),
)


def _rejection(err: jwt.PyJWTError) -> NotAuthenticated:
    for kind, reason in _REJECTIONS:
        if isinstance(err, kind):
            claim = f": {err.claim}" if isinstance(err, jwt.MissingRequiredClaimError) else ""
            return NotAuthenticated(reason + claim)
    return NotAuthenticated("invalid token")


SIGN_IN_SCOPE = "openid profile"


class OidcVerifier:
    """Verifies a provider's JWT and maps its claims to a ``Principal``."""

    def __init__(self, config: OidcConfig) -> None:
        self.config = config
        self._keys = _Keys(config)
        self._sign_in: dict[str, str] | None = None

    async def sign_in(self) -> dict[str, str]:
        """What the page needs for the authorization code flow with PKCE (see the module):
        the provider's endpoints from its discovery document, the client id and scope."""
        if self._sign_in is None:
            issuer = self.config.issuer
            url = f"{issuer.rstrip('/')}/{DISCOVERY_PATH}"
            document = await _get_json(url, "discovery document")
            if document.get("issuer") != issuer:
                raise IdentityProviderUnavailable(
                    f"the discovery document names issuer {str(document.get('issuer'))[:200]!r}, "
                    f"not {issuer!r}"
                )
            endpoints = {k: document.get(k) for k in ("authorization_endpoint", "token_endpoint")}
            if not all(
                isinstance(v, str) and v.startswith(("https://", "http://"))
                for v in endpoints.values()
            ):
                raise IdentityProviderUnavailable(
                    "the discovery document names no authorization and token endpoints"
                )
            methods = document.get("code_challenge_methods_supported")
            if isinstance(methods, list) and "S256" not in methods:
                raise IdentityProviderUnavailable("the identity provider does not offer PKCE S256")
            self._sign_in = {
                "issuer": issuer,
                **{k: str(v) for k, v in endpoints.items()},
                "client_id": self.config.audience,
                "scope": SIGN_IN_SCOPE,
            }
        return self._sign_in

    @classmethod
    def from_settings(cls, settings: Settings) -> OidcVerifier | None:
        config = OidcConfig.from_settings(settings)
        return None if config is None else cls(config)

    async def status(self) -> dict[str, Any]:
        return {"issuer": self.config.issuer, **(await self._keys.status())}

    async def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as err:
            raise NotAuthenticated("malformed token") from err
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise NotAuthenticated(
                f"token algorithm {str(alg)[:16]!r} is not accepted (use {' or '.join(ALGORITHMS)})"
            )
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise NotAuthenticated("token header has no key id (kid)")
        key = await self._keys.key(kid)
        if key.key_type != _KEY_TYPES[alg] or key.algorithm_name != alg:
            raise NotAuthenticated("token algorithm does not match its key")
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                audience=self.config.audience,
                issuer=self.config.issuer,
                leeway=self.config.leeway_s,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as err:
            rejected = _rejection(err)
            log.info("auth.oidc.rejected", reason=str(rejected))
            raise rejected from err
        return self.principal(claims)

    def principal(self, claims: dict[str, Any]) -> Principal:
        """The caller the claims describe; 401 when they do not name a usable role."""
        sub = str(claims["sub"])
        role = _role(_claim(claims, self.config.role_claim), self.config.role_claim)
        wards = _wards(_claim(claims, self.config.wards_claim))
        name = _claim(claims, self.config.name_claim) or claims.get("preferred_username") or sub
        return Principal(id=f"oidc:{sub}", name=str(name)[:200], role=role, wards=wards)


def _claim(claims: dict[str, Any], path: str) -> Any:
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _role(value: Any, claim: str) -> Role:
    candidates = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    roles = sorted({r for r in ROLES if r in candidates})
    if len(roles) != 1:
        found = "none" if not roles else "several"
        raise NotAuthenticated(
            f"token claim {claim!r} must name one wardround role "
            f"({'|'.join(ROLES)}); it names {found}"
        )
    return roles[0]


def _wards(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        items = _WARD_SPLIT.split(value)
    elif isinstance(value, list):
        items = [str(v) for v in value]
    else:
        items = []
    return tuple(dict.fromkeys(w.strip() for w in items if w.strip()))
