"""Sign-in on the ward page through the hospital's identity provider: the authorization code flow
with PKCE (RFC 7636, S256), in headless Chromium, against a real tiny OpenID provider served here
on loopback (discovery, JWKS, a login form at /authorize, /token checking the PKCE verifier, real
RS256 JWTs). Without OIDC the page keeps the token form."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import jwt
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from core.model.serving import RunningServer
from core.settings import Settings
from server.app import create_app
from server.auth import Principal, RateLimit
from server.wiring import open_runtime
from tests.server.browser import Page, chromium, needs_chromium, running, save_screenshot
from tests.server.conftest import NOW, OWN, PAUSING, ShippedPatients, ward_model
from tests.server.test_oidc import SigningKey, rsa_key

CLIENT_ID = "wardround-page"
USERS = {"dr-lin": Principal(id="dr-lin", name="Dr Lin", role="clinician", wards=("7A",))}


async def form_of(request: Request) -> dict[str, str]:
    """An urlencoded form body (what a browser's form post and the page's fetch send)."""
    return dict(parse_qsl((await request.body()).decode()))


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass
class TinyProvider:
    """Just enough of an OpenID provider for a public client using the code flow with PKCE."""

    key: SigningKey
    url: str = ""
    page_origin: str = ""
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, Any]] = field(default_factory=list)

    @property
    def issuer(self) -> str:
        return f"{self.url}/realms/ward"

    async def discovery(self, _request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.url}/authorize",
                "token_endpoint": f"{self.url}/token",
                "jwks_uri": f"{self.url}/certs",
                "response_types_supported": ["code"],
                "code_challenge_methods_supported": ["S256"],
                "id_token_signing_alg_values_supported": ["RS256"],
            }
        )

    async def certs(self, _request: Request) -> Response:
        return JSONResponse({"keys": [self.key.jwk()]})

    async def authorize(self, request: Request) -> Response:
        """GET: the login form (the user signs in here, never on wardround); POST: a code."""
        if request.method == "GET":
            asked = dict(request.query_params)
            self.authorize_requests.append(asked)
            hidden = "".join(
                f'<input type="hidden" name="{k}" value="{v}">' for k, v in asked.items()
            )
            return HTMLResponse(
                "<title>Hospital sign-in</title><form method=post>"
                f'{hidden}<input id="username" name="username"><button id="login">Sign in'
                "</button></form>"
            )
        form = await form_of(request)
        bad = self._refusal(form)
        if bad:
            return JSONResponse({"error": "invalid_request", "error_description": bad}, 400)
        code = secrets.token_urlsafe(16)
        self.codes[code] = {k: str(form[k]) for k in ("username", "redirect_uri", "client_id")}
        self.codes[code]["challenge"] = str(form["code_challenge"])
        back = f"{form['redirect_uri']}?{urlencode({'code': code, 'state': form['state']})}"
        return RedirectResponse(back, status_code=302)

    def _refusal(self, form: dict[str, str]) -> str:
        if form.get("client_id") != CLIENT_ID:
            return "unknown client"
        if not str(form.get("redirect_uri", "")).startswith(self.page_origin + "/"):
            return "redirect_uri not registered"
        if form.get("code_challenge_method") != "S256" or not form.get("code_challenge"):
            return "PKCE S256 required"
        if form.get("username") not in USERS:
            return "unknown user"
        return ""

    async def token(self, request: Request) -> Response:
        form = await form_of(request)
        granted = self.codes.pop(str(form.get("code")), None)  # a code is good once
        verifier = str(form.get("code_verifier", ""))
        ok = bool(
            granted
            and form.get("grant_type") == "authorization_code"
            and form.get("client_id") == granted["client_id"]
            and form.get("redirect_uri") == granted["redirect_uri"]
            and s256(verifier) == granted["challenge"]
        )
        self.token_requests.append({"ok": ok, "origin": request.headers.get("origin")})
        cors = {"Access-Control-Allow-Origin": self.page_origin}
        if not ok or granted is None:
            body = {"error": "invalid_grant", "error_description": "code or verifier refused"}
            return JSONResponse(body, 400, headers=cors)
        user = USERS[granted["username"]]
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "sub": user.id,
            "iat": now,
            "exp": now + 300,
            "name": user.name,
            "wardround_role": user.role,
            "wardround_wards": list(user.wards),
        }
        signed = jwt.encode(claims, self.key.private, algorithm="RS256", headers={"kid": "k1"})
        body = {"access_token": signed, "token_type": "Bearer", "expires_in": 300}
        return JSONResponse(body, headers=cors)


@pytest.fixture
def provider() -> Iterator[TinyProvider]:
    idp = TinyProvider(key=rsa_key("k1"))
    app = Starlette(
        routes=[
            Route("/realms/ward/.well-known/openid-configuration", idp.discovery),
            Route("/certs", idp.certs),
            Route("/authorize", idp.authorize, methods=["GET", "POST"]),
            Route("/token", idp.token, methods=["POST"]),
        ]
    )
    with RunningServer.start(app) as served:
        idp.url = served.url
        yield idp


@dataclass
class OidcServer:
    base: str
    provider: TinyProvider


@pytest.fixture
async def oidc_server(
    tmp_path: Path, scripted_model: Any, provider: TinyProvider
) -> AsyncIterator[OidcServer]:
    """wardround with OIDC on (no tokens file user), served for real on loopback."""
    settings = Settings(
        data_dir=tmp_path / "data",
        tokens_file=tmp_path / "tokens.json",
        oidc_issuer=provider.issuer,
        oidc_audience=CLIENT_ID,
    )
    _, client = scripted_model(ward_model)
    patients = ShippedPatients([OWN, PAUSING])
    async with open_runtime(settings, model=client, patients=patients, clock=lambda: NOW) as rt:
        app = create_app(rt, settings, rate_limit=RateLimit(burst=1000, per_second=100))
        async with app.router.lifespan_context(app), running(app) as base:
            provider.page_origin = base
            yield OidcServer(base, provider)


async def test_the_page_learns_the_providers_endpoints(oidc_server: OidcServer) -> None:
    async with httpx.AsyncClient(base_url=oidc_server.base) as http:
        config = (await http.get("/v1/auth/config")).json()["oidc"]
    idp = oidc_server.provider
    assert config == {
        "issuer": idp.issuer,
        "authorization_endpoint": f"{idp.url}/authorize",
        "token_endpoint": f"{idp.url}/token",
        "client_id": CLIENT_ID,
        "scope": "openid profile",
    }


async def test_without_oidc_the_page_keeps_the_token_form(server: Any) -> None:
    response = await server.client.get("/v1/auth/config")
    assert response.json() == {"oidc": None}


@pytest.mark.browser
@needs_chromium
async def test_sign_in_with_the_hospital_account_code_flow_with_pkce(
    oidc_server: OidcServer, tmp_path: Path
) -> None:
    idp = oidc_server.provider
    async with chromium(tmp_path / "profile") as ws:
        page = await Page.open(ws, f"{oidc_server.base}/")
        await page.wait_for("document.documentElement?.dataset.page === 'ready'")
        assert await page.js("document.getElementById('signin').hidden") is True
        assert await page.js("document.getElementById('sso').hidden") is False
        await save_screenshot(page, tmp_path, "oidc-sign-in-button.png")
        await page.js("document.getElementById('sso').click()")
        await page.wait_for("document.title === 'Hospital sign-in'")  # on the provider's page
        [asked] = idp.authorize_requests
        assert asked["code_challenge_method"] == "S256"
        assert asked["client_id"] == CLIENT_ID
        assert asked["redirect_uri"] == f"{oidc_server.base}/"
        verifier = await page.js("JSON.parse(sessionStorage.getItem('wardround.pkce') || 'null')")
        assert verifier is None  # the verifier stays in wardround's origin, not the provider's
        await page.js("document.getElementById('username').value = 'dr-lin'")
        await page.js("document.getElementById('login').click()")
        # back on the ward page: the code traded for a token, the patients of ward 7A listed
        await page.wait_for(f"document.querySelector('[data-patient=\"{PAUSING}\"]')")
        assert await page.js("location.search") == ""  # the single-use code is off the URL
        assert await page.js("document.querySelectorAll('.patient').length") == 1
        assert await page.js("document.getElementById('sso').hidden") is True
        assert await page.js("document.getElementById('signout').hidden") is False
        token = await page.js("sessionStorage.getItem('wardround.token')")
        assert token.count(".") == 2  # the provider's JWT, verified by the server on each call
        assert await page.js("sessionStorage.getItem('wardround.pkce')") is None
        await save_screenshot(page, tmp_path, "oidc-signed-in.png")
    assert idp.token_requests == [{"ok": True, "origin": oidc_server.base}]


@pytest.mark.browser
@needs_chromium
async def test_an_answer_this_tab_did_not_ask_for_is_refused(
    oidc_server: OidcServer, tmp_path: Path
) -> None:
    """A code arriving with a state this tab did not send (a forged or stale link) is not
    traded for a token; the user is told where they look."""
    async with chromium(tmp_path / "profile") as ws:
        page = await Page.open(ws, f"{oidc_server.base}/?code=stolen&state=forged")
        await page.wait_for("document.documentElement?.dataset.page === 'ready'")
        error = await page.js("document.getElementById('error').textContent")
        assert "does not match this tab's request" in error
        assert await page.js("location.search") == ""
        assert await page.js("sessionStorage.getItem('wardround.token')") is None
    assert oidc_server.provider.token_requests == []
