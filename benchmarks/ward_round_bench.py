"""Ward-round latency with a scripted model: orchestration overhead and parallel specialists.

Three configurations run interleaved in one process (so machine noise hits all alike):
- ``instant``: the scripted model answers at once: the cost of wardround itself (parse, rules,
  graph, checkpoints, verification) around the model;
- ``parallel``: each model call takes LATENCY_MS; specialists fan out (model concurrency 4);
- ``serial``: same latency, model concurrency 1: what the round would cost without the fan-out.
Also reports the shared-prefix fraction: the share of prompt characters that are the identical
patient context block at the start of every call (what a prefix cache can serve once).

    .venv/bin/python benchmarks/ward_round_bench.py [--rounds 20] [--latency-ms 100]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from langgraph.checkpoint.memory import InMemorySaver

from core.model.client import ModelClient
from core.model.replies import Reply
from core.model.transcript_server import TranscriptServer
from core.model.types import ModelConfig
from core.settings import SHIPPED_DATA, Settings
from graphs.run import ask
from graphs.ward_round import build_ward_round
from server.wiring import build_deps
from tools.fhir.sources import DirectoryPatientSource

PATIENT = "aki-on-ckd"
QUESTION = "Why is his creatinine rising, and which of his medicines should be held?"
NOW = datetime(2025, 11, 20, 9, tzinfo=UTC)


def reply_for(body: dict[str, Any]) -> Reply:
    step = body["response_format"]["json_schema"]["name"]
    if step == "router":
        return Reply.json({"specialists": ["history", "labs", "guideline"]})
    if step == "synthesizer":
        return Reply.json({"answer": "Scripted answer.", "claims": []})
    return Reply.json({"summary": f"{step} note", "key_points": []})


def scripted(latency_s: float, prompts: list[dict[str, Any]]) -> TranscriptServer:
    async def model(body: dict[str, Any]) -> Reply:
        prompts.append(body)
        if latency_s:
            await asyncio.sleep(latency_s)
        return reply_for(body)

    return TranscriptServer(script=model)


async def one_round(latency_s: float, concurrency: int, prompts: list[dict[str, Any]]) -> float:
    server = scripted(latency_s, prompts)
    async with server.http_client() as http:
        cfg = ModelConfig(server.base_url_inprocess, "bench", max_concurrency=concurrency)
        client = ModelClient(cfg, http_client=http, capabilities=server.profile)
        deps = build_deps(
            Settings(data_dir=Path(tempfile.mkdtemp())),
            use_model=False,  # only the scripted model given here
            use_kg=False,
            model=client,
            patients=DirectoryPatientSource(SHIPPED_DATA / "patients", clock=lambda: NOW),
            clock=lambda: NOW,
        )
        graph = build_ward_round(deps, InMemorySaver())
        started = time.perf_counter()
        await ask(graph, patient_id=PATIENT, question=QUESTION)
        return (time.perf_counter() - started) * 1000


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def shared_prefix_fraction(prompts: list[dict[str, Any]]) -> float:
    total = sum(len(str(m["content"])) for p in prompts for m in p["messages"])
    shared = sum(len(p["messages"][0]["content"]) for p in prompts)
    return shared / total if total else 0.0


async def main(rounds: int, latency_ms: float) -> None:
    configs = {
        "instant": (0.0, 4),
        "parallel": (latency_ms / 1000, 4),
        "serial": (latency_ms / 1000, 1),
    }
    times: dict[str, list[float]] = {name: [] for name in configs}
    prompts: list[dict[str, Any]] = []
    for _ in range(rounds):
        for name, (latency, concurrency) in configs.items():
            times[name].append(await one_round(latency, concurrency, prompts))
    print("| configuration | p50 ms | p95 ms | rounds |")
    print("| --- | ---: | ---: | ---: |")
    for name, values in times.items():
        print(f"| {name} | {pct(values, 50):.0f} | {pct(values, 95):.0f} | {len(values)} |")
    ratio = statistics.median(times["serial"]) / statistics.median(times["parallel"])
    print(f"\nserial / parallel (median): {ratio:.2f}x")
    print(f"shared-prefix fraction of prompt characters: {shared_prefix_fraction(prompts):.1%}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.latency_ms))
