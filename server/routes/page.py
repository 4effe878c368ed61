"""The built-in pages: the chat page at ``/`` and the auditor's trace viewer at ``/audit``.

Static HTML, JavaScript and CSS, no build step. The pages hold no data; they call the API with
the token the user pastes in, so serving them needs none. Both load ``dom.js`` (``/static/dom.js``:
the small DOM helpers they share) before their own script. ``GET /v1/auth/config`` tells the chat
page how to sign in: through the hospital's OIDC provider when one is configured
(``server.oidc``), with a pasted token otherwise. The trace viewer (``audit.html``,
``audit.js``, ``audit.css``) is read-only: it only GETs ``/v1/audit/...`` (runs, a run's tree, a
citation's evidence, chain verification). It is served with a strict Content-Security-Policy (no
inline script, same-origin requests only), a second wall behind rendering every payload with
``textContent``: audited payloads hold model output and free-text notes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse

from server.deps import ServerDeps

router = APIRouter(tags=["page"])
STATIC = Path(__file__).resolve().parent.parent / "static"
VIEWER_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_VIEWER_HEADERS = {
    "Content-Security-Policy": VIEWER_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@router.get("/", include_in_schema=False)
async def chat_page() -> FileResponse:
    return FileResponse(STATIC / "index.html", media_type="text/html")


@router.get("/v1/auth/config", include_in_schema=False)
async def sign_in_config(state: ServerDeps) -> dict[str, Any]:
    """How the page signs in: ``{"oidc": null}`` (paste a token) or the identity provider's
    authorization and token endpoints, client id and scope (authorization code with PKCE:
    ``server.oidc``). No token needed: it holds nothing secret."""
    return {"oidc": None if state.oidc is None else await state.oidc.sign_in()}


@router.get("/static/dom.js", include_in_schema=False)
async def shared_dom_helpers() -> FileResponse:
    """``$``, ``el`` and ``showError``: the DOM helpers both pages load before their own script."""
    return FileResponse(STATIC / "dom.js", media_type="text/javascript", headers=_VIEWER_HEADERS)


@router.get("/audit", include_in_schema=False)
async def audit_viewer() -> FileResponse:
    return FileResponse(STATIC / "audit.html", media_type="text/html", headers=_VIEWER_HEADERS)


@router.get("/audit/audit.js", include_in_schema=False)
async def audit_viewer_script() -> FileResponse:
    return FileResponse(STATIC / "audit.js", media_type="text/javascript", headers=_VIEWER_HEADERS)


@router.get("/audit/audit.css", include_in_schema=False)
async def audit_viewer_style() -> FileResponse:
    return FileResponse(STATIC / "audit.css", media_type="text/css", headers=_VIEWER_HEADERS)
