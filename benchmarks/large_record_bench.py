"""How the deterministic part of a ward round scales with the size of the record.

A shipped patient (``aki-on-ckd``) is grown to N observations: its own 34 plus copies of them at
earlier hourly times (same analytes, values varied), as a long admission's record looks. Each size
runs one ward round with no model (degraded mode: exactly the deterministic work: parse, resolve,
flags, trends, calculators, rules, cards, checkpoints) and reports the wall time of parsing and of
the whole round, and whether the round said it checked only part of the record.

    .venv/bin/python benchmarks/large_record_bench.py [--sizes 1000 2000 4000 30000]
        [--deadline 30] [--profile N]

``--profile N`` prints the top of a cProfile of one round at N observations instead.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from langgraph.checkpoint.memory import InMemorySaver

from core.settings import Settings
from evals.large_record import PATIENT, grown_bundle
from graphs.run import ask
from graphs.ward_round import build_ward_round
from server.wiring import build_deps
from tools.fhir.parse import parse_bundle
from tools.fhir.sources import DirectoryPatientSource

QUESTION = "Why is his creatinine rising?"
NOW = datetime(2025, 7, 12, 9, tzinfo=UTC)


async def one_round(directory: Path, deadline_s: float) -> tuple[float, Any]:
    deps = build_deps(
        Settings(data_dir=Path(tempfile.mkdtemp()), round_deadline_s=deadline_s),
        use_model=False,
        use_kg=False,
        patients=DirectoryPatientSource(directory, clock=lambda: NOW),
        clock=lambda: NOW,
    )
    graph = build_ward_round(deps, InMemorySaver())
    started = time.perf_counter()
    result = await ask(graph, patient_id=PATIENT, question=QUESTION)
    return time.perf_counter() - started, result


def measure(size: int, deadline_s: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{PATIENT}.json"
        path.write_text(json.dumps(grown_bundle(size)))
        megabytes = round(path.stat().st_size / 1e6, 1)
        started = time.perf_counter()
        record = parse_bundle(path, now=NOW)
        parse_s = time.perf_counter() - started
        round_s, result = asyncio.run(one_round(Path(tmp), deadline_s))
    return {
        "observations": len(record.observations),
        "mb": megabytes,
        "parse_s": round(parse_s, 2),
        "round_s": round(round_s, 2),
        "findings": len(result.findings),
        "partial": [r for r in result.degraded_reasons if "checked" in r],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 2000, 4000, 30000])
    parser.add_argument("--deadline", type=float, default=30.0, help="the round's deadline (s)")
    parser.add_argument("--profile", type=int, default=0, help="profile one round at this size")
    args = parser.parse_args()
    if args.profile:
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / f"{PATIENT}.json").write_text(json.dumps(grown_bundle(args.profile)))
            profiler = cProfile.Profile()
            profiler.enable()
            asyncio.run(one_round(Path(tmp), args.deadline))
            profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
        return
    for size in args.sizes:
        print(json.dumps({"size": size, **measure(size, args.deadline)}), flush=True)


if __name__ == "__main__":
    main()
