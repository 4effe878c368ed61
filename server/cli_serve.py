"""``wardround serve`` and ``wardround users ...``, mounted by ``server.cli``."""

from __future__ import annotations

from typing import Annotated

import typer

from core.errors import WardroundError
from core.settings import Settings
from server import users_cli


def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default WARDROUND_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default WARDROUND_PORT).")] = None,
) -> None:
    """Start the HTTP server: chat page at /, API and OpenAI facade under /v1."""
    import uvicorn

    from server.app import create_app
    from server.cli import _fail, ensure_kg

    settings = Settings()
    try:
        ensure_kg(settings)  # before listening: no round is served without the KG's checks
    except WardroundError as error:
        raise _fail(error) from error
    app = create_app(None, settings)
    uvicorn.run(
        app,
        host=host or settings.host,
        port=port or settings.port,
        log_level=settings.log_level.lower(),
        access_log=False,  # its lines carry raw paths and queries, which name patients; the
        # app logs each request by route template instead (server.routes.metrics)
    )


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(users_cli.app, name="users")
