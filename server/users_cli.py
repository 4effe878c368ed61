"""``wardround users add|list|revoke``: bearer tokens for the server (stored hashed)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from core.errors import WardroundError
from core.settings import Settings
from server.auth import ROLES, Principal, TokenStore, tokens_path

app = typer.Typer(help="Server users and their bearer tokens.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)


def _store() -> TokenStore:
    return TokenStore(tokens_path(Settings()))


@app.command("add")
def add(
    user_id: Annotated[str, typer.Argument(help="A stable user id, e.g. an employee number.")],
    name: Annotated[str, typer.Option(help="Display name.")],
    role: Annotated[str, typer.Option(help="clinician, auditor or admin.")] = "clinician",
    ward: Annotated[
        list[str] | None, typer.Option("--ward", help="A ward the user works on (repeat).")
    ] = None,
) -> None:
    """Issue a token; it is printed once and only its salted hash is stored."""
    if role not in ROLES:
        err.print(f"[bold red]error:[/] role must be one of {', '.join(ROLES)}")
        raise typer.Exit(code=2)
    principal = Principal(id=user_id, name=name, role=role, wards=tuple(ward or ()))
    try:
        token = _store().add(principal)
    except WardroundError as error:
        err.print(f"[bold red]error:[/] {error}")
        raise typer.Exit(code=2) from error
    err.print("token (shown once; store it safely):")
    typer.echo(token)


@app.command("list")
def list_users() -> None:
    """Tokens on file: id, user, role, wards, created, revoked (never the token)."""
    table = Table("token id", "user", "name", "role", "wards", "created", "revoked")
    for entry in _store().entries():
        user = entry.user
        table.add_row(
            entry.token_id,
            user.id,
            user.name,
            user.role,
            ", ".join(user.wards),
            entry.created_at,
            entry.revoked_at or "",
        )
    out.print(table)


@app.command("revoke")
def revoke(
    key: Annotated[str, typer.Argument(help="A token id, or a user id (revokes all theirs).")],
) -> None:
    """Revoke tokens; a running server refuses them on the next request."""
    count = _store().revoke(key)
    if not count:
        err.print(f"[bold red]error:[/] no active token or user {key!r}")
        raise typer.Exit(code=1)
    out.print(f"revoked {count} token(s)")
