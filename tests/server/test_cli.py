"""``wardround users add|list|revoke`` and the ``serve`` command's registration."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from core.errors import NotAuthenticated
from server.auth import TokenStore
from server.cli_serve import register


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    monkeypatch.setenv("WARDROUND_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("WARDROUND_TOKENS_FILE", raising=False)
    app = typer.Typer()
    register(app)
    return app


def test_add_list_revoke(cli: typer.Typer, tmp_path: Path) -> None:
    runner = CliRunner()
    added = runner.invoke(
        cli, ["users", "add", "u1", "--name", "Dr One", "--ward", "7B", "--ward", "5A"]
    )
    assert added.exit_code == 0, added.output
    token = added.stdout.strip().splitlines()[-1]
    assert token.startswith("wr_")
    store = TokenStore(tmp_path / "tokens.json")
    user = store.verify(token)
    assert (user.id, user.role, user.wards) == ("u1", "clinician", ("7B", "5A"))
    assert token not in (tmp_path / "tokens.json").read_text(encoding="utf-8")

    listed = runner.invoke(cli, ["users", "list"])
    assert listed.exit_code == 0
    assert "u1" in listed.stdout
    assert token.split("_", 2)[2] not in listed.stdout

    assert runner.invoke(cli, ["users", "revoke", "u1"]).exit_code == 0
    assert runner.invoke(cli, ["users", "revoke", "u1"]).exit_code == 1
    with pytest.raises(NotAuthenticated, match="revoked"):
        store.verify(token)


def test_add_refuses_bad_input(cli: typer.Typer) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["users", "add", "x", "--name", "X", "--role", "god"]).exit_code == 2
    no_ward = runner.invoke(cli, ["users", "add", "x", "--name", "X"])
    assert no_ward.exit_code == 2
    assert "ward" in no_ward.output


def test_serve_is_registered(cli: typer.Typer) -> None:
    result = CliRunner().invoke(cli, ["serve", "--help"])
    assert result.exit_code == 0
    assert "--port" in result.stdout
