"""Signing is the default: with no ``WARDROUND_AUDIT_KEY`` the server generates a key once and
keeps it in the data dir (mode 0600), so checkpoints are signed and a deleted tail or a re-hashed
chain is caught; ``wardround audit verify`` without any key says what it cannot see."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.audit.cli import app
from core.audit.signing import KEPT_KEY_FILE, UNSIGNED_WARNING
from core.settings import Settings
from server.wiring import open_audit_store

runner = CliRunner()


@pytest.fixture
def no_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WARDROUND_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("WARDROUND_AUDIT_KEY", raising=False)
    monkeypatch.delenv("WARDROUND_AUDIT_DSN", raising=False)
    return tmp_path


def test_the_server_keeps_a_key_and_signs_with_it(no_key: Path) -> None:
    store = open_audit_store(Settings(data_dir=no_key))
    store.close()
    kept = no_key / KEPT_KEY_FILE
    assert kept.is_file()
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    first = kept.read_text(encoding="utf-8")
    assert len(first) >= 32
    assert store._key == first.encode()  # the store signs with it
    open_audit_store(Settings(data_dir=no_key)).close()
    assert kept.read_text(encoding="utf-8") == first  # made once, then kept
    verified = runner.invoke(app, ["verify"])
    assert verified.exit_code == 0, verified.output
    assert "no audit key" not in verified.output


def test_verify_without_any_key_says_what_it_cannot_see(no_key: Path) -> None:
    verified = runner.invoke(app, ["verify"])
    assert verified.exit_code == 0, verified.output
    assert UNSIGNED_WARNING.split(":")[0] in verified.output
    assert not (no_key / KEPT_KEY_FILE).exists()  # verify never makes a key
