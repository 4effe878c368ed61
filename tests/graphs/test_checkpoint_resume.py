"""Checkpoints persist in SQLite under the data dir, and a thread resumes in a new process."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from core.settings import Settings
from graphs.checkpoint import open_checkpointer
from graphs.run import ask
from graphs.ward_round import build_ward_round
from tests.conftest import DepsFactory


def run_cli(data_dir: Path, *args: str) -> dict[str, object]:
    env = {**os.environ, "WARDROUND_DATA_DIR": str(data_dir)}
    done = subprocess.run(
        [sys.executable, "-c", "from server.cli import main; main()", *args],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_a_thread_resumes_in_a_new_process(tmp_path: Path) -> None:
    first = run_cli(tmp_path, "ask", "--patient", "aki-on-ckd", "--json", "--no-model",
                    "Why is the creatinine rising?")  # fmt: skip
    second = run_cli(tmp_path, "ask", "--patient", "aki-on-ckd", "--json", "--no-model",
                     "--thread", str(first["thread_id"]), "And the potassium?")  # fmt: skip
    assert second["thread_id"] == first["thread_id"]
    assert first["turns"] == 1
    assert second["turns"] == 2  # the earlier question came back from the checkpoint
    with sqlite3.connect(tmp_path / "checkpoints.sqlite") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        threads = {r[0] for r in db.execute("SELECT DISTINCT thread_id FROM checkpoints")}
    assert threads == {first["thread_id"]}


async def test_state_is_readable_from_a_fresh_checkpointer(
    tmp_path: Path, patients, round_deps: DepsFactory
) -> None:
    settings = Settings(data_dir=tmp_path)
    deps = round_deps(patients=patients)
    async with open_checkpointer(settings) as saver:
        result = await ask(build_ward_round(deps, saver), patient_id="aki-demo", question="Q?")
    async with open_checkpointer(settings) as saver:
        graph = build_ward_round(deps, saver)
        snapshot = await graph.aget_state({"configurable": {"thread_id": result.thread_id}})
    assert snapshot.values["answer"] == result.answer
    assert snapshot.values["turns"][0]["question"] == "Q?"
    assert snapshot.next == ()  # the round finished
