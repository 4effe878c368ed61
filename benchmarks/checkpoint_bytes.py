"""Checkpoint bytes one question leaves behind, keeping every step vs the latest only.

One question (model down: the deterministic round) on the demo patient and on the same patient
with N extra laboratory results (a long admission), each on a fresh thread in a real SQLite
checkpoint file, with ``WARDROUND_CHECKPOINT_HISTORY=all`` and ``=latest`` side by side in one
run. Bytes are what the rows hold (checkpoints + pending writes), not the file's size, which
SQLite grows in pages and only ``wardround db vacuum`` shrinks.

    .venv/bin/python benchmarks/checkpoint_bytes.py [--observations 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import sqlite3
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from core.settings import SHIPPED_DATA, Settings
from graphs.checkpoint import open_checkpointer
from graphs.run import ask
from graphs.ward_round import build_ward_round
from server.wiring import build_deps
from tools.fhir.sources import DirectoryPatientSource

QUESTION = "Why is the creatinine rising, and is it safe to continue ibuprofen?"


def long_admission(bundle: dict[str, Any], extra: int) -> dict[str, Any]:
    """The demo bundle plus ``extra`` creatinine results, one every 6 hours before admission."""
    grown = copy.deepcopy(bundle)
    template = next(e for e in grown["entry"] if e["resource"]["resourceType"] == "Observation")
    start = datetime(2025, 1, 1, tzinfo=UTC)
    for i in range(extra):
        entry = copy.deepcopy(template)
        entry["resource"]["id"] = f"bench-obs-{i}"
        entry["resource"]["effectiveDateTime"] = (start + timedelta(hours=6 * i)).isoformat()
        entry.pop("fullUrl", None)
        grown["entry"].append(entry)
    return grown


def stored_bytes(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        checkpoints = conn.execute(
            "SELECT coalesce(sum(length(checkpoint) + length(metadata)), 0) FROM checkpoints"
        ).fetchone()[0]
        writes = conn.execute("SELECT coalesce(sum(length(value)), 0) FROM writes").fetchone()[0]
    return int(checkpoints) + int(writes)


async def one_question(patients: Path, patient: str, history: Literal["all", "latest"]) -> int:
    settings = Settings(data_dir=Path(tempfile.mkdtemp()), checkpoint_history=history)
    deps = build_deps(
        settings, use_model=False, use_kg=False, patients=DirectoryPatientSource(patients)
    )
    async with open_checkpointer(settings) as saver:
        await ask(build_ward_round(deps, saver), patient_id=patient, question=QUESTION)
    return stored_bytes(settings.checkpoint_path)


async def main(extra: int) -> None:
    patients = Path(tempfile.mkdtemp())
    demo = json.loads((SHIPPED_DATA / "patients" / "aki-on-ckd.json").read_text())
    (patients / "aki-on-ckd.json").write_text(json.dumps(demo))
    grown = long_admission(demo, extra)
    observations = sum(1 for e in grown["entry"] if e["resource"]["resourceType"] == "Observation")
    print("| bundle | all steps kept | latest only | ratio |")
    print("|---|---|---|---|")
    for label, bundle in (("demo (aki-on-ckd)", demo), (f"{observations} observations", grown)):
        (patients / "aki-on-ckd.json").write_text(json.dumps(bundle))
        every = await one_question(patients, "aki-on-ckd", "all")
        latest = await one_question(patients, "aki-on-ckd", "latest")
        print(f"| {label} | {every / 1024:,.0f} KB | {latest / 1024:,.0f} KB | "
              f"{every / latest:.1f}x |")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--observations", type=int, default=1000, help="extra lab results")
    asyncio.run(main(parser.parse_args().observations))
