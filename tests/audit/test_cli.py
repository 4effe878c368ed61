"""``wardround audit`` commands against a store in a temporary data dir."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.audit import RUN_FAILED, AuditStore, EventKind
from core.audit.cli import app

KEY = "a-test-key-that-is-long-enough-for-hmac-sha256"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WARDROUND_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("WARDROUND_AUDIT_KEY", KEY)
    monkeypatch.delenv("WARDROUND_AUDIT_DSN", raising=False)
    store = AuditStore.open(f"sqlite:///{tmp_path / 'data' / 'audit.sqlite'}")

    async def record() -> None:
        for run in ("run-a", "run-b"):
            rec = store.recorder(run_id=run, patient_id="pat-1", principal_id="dr-a")
            await rec.emit(EventKind.REQUEST_RECEIVED, {"question": "?"})
            await rec.emit(EventKind.REQUEST_ANSWERED, {"answer": "!", "citations": []})

    asyncio.run(record())
    store.close()
    return tmp_path / "data"


runner = CliRunner()


def test_verify_passes_then_names_the_first_bad_event(data_dir: Path) -> None:
    ok = runner.invoke(app, ["verify"])
    assert ok.exit_code == 0, ok.output
    assert "chain intact: 4 events" in ok.output

    with closing(sqlite3.connect(data_dir / "audit.sqlite")) as conn:
        conn.execute("DROP TRIGGER audit_events_no_update")
        conn.execute("""UPDATE audit_events SET payload = '{"answer":"?"}' WHERE seq = 2""")
        conn.commit()
    bad = runner.invoke(app, ["verify"])
    assert bad.exit_code == 1
    assert "altered at seq 2" in bad.output


def test_checkpoint_then_runs_then_export(data_dir: Path, tmp_path: Path) -> None:
    signed = runner.invoke(app, ["checkpoint"])
    assert signed.exit_code == 0, signed.output
    assert "checkpoint at seq 4" in signed.output
    verified = runner.invoke(app, ["verify"])
    assert "1 checkpoints verified" in verified.output

    listed = runner.invoke(app, ["runs", "--patient", "pat-1", "--since", "2000-01-01"])
    assert listed.exit_code == 0, listed.output
    assert "run-a" in listed.output
    assert "run-b" in listed.output

    bundle_path = tmp_path / "bundle.json"
    exported = runner.invoke(app, ["export", "--run", "run-a", "--out", str(bundle_path)])
    assert exported.exit_code == 0, exported.output
    bundle = json.loads(bundle_path.read_text(encoding="utf-8"))
    types = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert types == ["AuditEvent", "AuditEvent", "Provenance"]


def test_runs_say_how_they_ended_and_filter_on_it(data_dir: Path) -> None:
    store = AuditStore.open(f"sqlite:///{data_dir / 'audit.sqlite'}")

    async def fail() -> None:
        rec = store.recorder(run_id="run-c", patient_id="pat-1", principal_id="dr-a")
        await rec.emit(EventKind.REQUEST_RECEIVED, {"question": "?"})
        await rec.emit(EventKind.ERROR, {"where": RUN_FAILED, "error": {"type": "Boom"}})

    asyncio.run(fail())
    store.close()
    listed = runner.invoke(app, ["runs"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0, listed.output
    rows = {line.split()[1]: line for line in listed.output.splitlines() if "run-" in line}
    assert "answered" in rows["run-a"]
    assert "failed" in rows["run-c"]
    only = runner.invoke(app, ["runs", "--outcome", "failed"], env={"COLUMNS": "200"})
    assert only.exit_code == 0, only.output
    assert "run-c" in only.output
    assert "run-a" not in only.output
    wrong = runner.invoke(app, ["runs", "--outcome", "exploded"])
    assert wrong.exit_code == 2
    assert "exploded" in wrong.output


def test_export_needs_exactly_one_selector(data_dir: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["export", "--out", str(tmp_path / "x.json")])
    assert result.exit_code == 2


def test_checkpoint_without_a_key_is_a_clear_error(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WARDROUND_AUDIT_KEY")
    result = runner.invoke(app, ["checkpoint"])
    assert result.exit_code == 2
    assert "WARDROUND_AUDIT_KEY" in result.output


def test_archive_and_verify_segment(data_dir: Path, tmp_path: Path) -> None:
    segment = tmp_path / "segment.jsonl"
    archived = runner.invoke(app, ["archive", "--before", "3", "--out", str(segment)])
    assert archived.exit_code == 0, archived.output
    assert "archived seq 1..2" in archived.output
    assert runner.invoke(app, ["verify", "--archives"]).exit_code == 0
    checked = runner.invoke(app, ["verify-segment", str(segment)])
    assert checked.exit_code == 0, checked.output
    assert "2 events" in checked.output
