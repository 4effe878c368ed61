"""``wardround backup`` / ``restore`` / ``db vacuum`` on real data dirs, through the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

QUESTION = "Why is the creatinine rising?"


def wardround(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from server.cli import main; main()", *args],
        env={**os.environ, "WARDROUND_DATA_DIR": str(data_dir), "COLUMNS": "200", **env},
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip


def ask(data_dir: Path, *extra: str, **env: str) -> dict[str, object]:
    done = wardround(data_dir, "ask", "--patient", "aki-on-ckd", "--json", "--no-model", *extra,
                     **env)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_a_backup_restores_into_a_fresh_data_dir_and_the_thread_goes_on(tmp_path: Path) -> None:
    live, copy, restored = tmp_path / "live", tmp_path / "backup", tmp_path / "restored"
    first = ask(live, QUESTION)
    made = wardround(live, "backup", str(copy), "--no-kg")
    assert made.returncode == 0, made.stderr
    manifest = json.loads((copy / "manifest.json").read_text())
    names = {f["path"] for f in manifest["files"]}
    assert {"audit.sqlite", "checkpoints.sqlite"} <= names
    assert any("knowledge graph" in why for why in manifest["left_out"])

    back = wardround(restored, "restore", str(copy))
    assert back.returncode == 0, back.stderr
    assert "chain intact" in back.stdout
    assert wardround(restored, "audit", "verify").returncode == 0
    follow_up = ask(restored, "--thread", str(first["thread_id"]), "And the potassium?")
    assert follow_up["turns"] == 2  # the thread came back with its first question


def test_restore_overwrites_nothing_and_refuses_an_altered_backup(tmp_path: Path) -> None:
    live, copy = tmp_path / "live", tmp_path / "backup"
    ask(live, QUESTION)
    assert wardround(live, "backup", str(copy), "--no-kg").returncode == 0

    into_live = wardround(live, "restore", str(copy))  # the live dir is not empty
    assert into_live.returncode == 2
    assert "not empty" in into_live.stderr

    with (copy / "audit.sqlite").open("r+b") as f:
        f.seek(200)
        f.write(b"\x00tampered")
    altered = wardround(tmp_path / "fresh", "restore", str(copy))
    assert altered.returncode == 2
    assert "altered" in altered.stderr
    assert not (tmp_path / "fresh" / "audit.sqlite").exists()


def test_vacuum_prunes_kept_history_and_the_thread_goes_on(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = ask(data, QUESTION, WARDROUND_CHECKPOINT_HISTORY="all")
    before = (data / "checkpoints.sqlite").stat().st_size
    done = wardround(data, "db", "vacuum")
    assert done.returncode == 0, done.stderr
    after = (data / "checkpoints.sqlite").stat().st_size
    assert after < before / 4
    assert "1 threads" in done.stdout
    follow_up = ask(data, "--thread", str(first["thread_id"]), "And the potassium?")
    assert follow_up["turns"] == 2
