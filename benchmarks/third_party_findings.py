"""Expected -> found on the third-party FHIR bundles: one ward round per bundle with the model
down, each expectation of ``tests/data/fhir-external/expected.yaml`` checked against its findings.

    .venv/bin/python benchmarks/third_party_findings.py [--bundle NAME ...] [--findings]

Prints one row per expectation (bundle, status, expected, found, owner) and a total per bundle;
``--findings`` also lists every rule finding of each round. Exit status 0 always: this is a
measurement; the test asserts the ``required`` rows.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path
from typing import Any

from core.logging import configure_logging
from core.settings import Settings
from evals.third_party import load_expectations, met, questions, round_with_model_down
from kg.load import load_ladybug
from kg.store import open_store


def _row(cells: list[str], widths: list[int]) -> str:
    return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


async def measure(bundles: list[str], show_findings: bool) -> None:
    settings = Settings(data_dir=Path(tempfile.mkdtemp()))
    settings.kg_path.parent.mkdir(parents=True)
    load_ladybug(settings.kg_path, scope="none", show_progress=False)  # curated facts
    store = open_store(settings, read_only=True)
    expectations, asked = load_expectations(), questions()
    widths = [28, 8, 52, 5, 5]
    print(_row(["bundle", "status", "expected", "found", "owner"], widths))
    print(_row(["-" * w for w in widths], widths))
    totals: list[tuple[str, int, int]] = []
    for bundle in bundles or sorted(expectations):
        result = await round_with_model_down(store, bundle, asked[bundle])
        hits = 0
        for exp in expectations[bundle]:
            ok = met(exp, result)
            hits += ok
            status = "required" if exp.required else "pending"
            cells = [bundle, status, _cut(exp.label, widths[2]), "yes" if ok else "NO", exp.owner]
            print(_row(cells, widths))
        totals.append((bundle, hits, len(expectations[bundle])))
        if show_findings:
            _print_findings(result)
    print()
    for bundle, hits, total in totals:
        print(f"{bundle}: {hits}/{total} met")
    met_all = sum(h for _, h, _ in totals)
    print(f"all: {met_all}/{sum(t for _, _, t in totals)} expectations met")
    store.close()


def _print_findings(result: Any) -> None:
    for f in result.findings:
        if f.origin == "rule" and f.kind not in ("lab_trend", "lab_no_range"):
            print(f"    [{f.kind}] {_cut(f.summary, 150)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", action="append", default=[])
    parser.add_argument("--findings", action="store_true", help="list each round's findings")
    args = parser.parse_args()
    configure_logging(level="ERROR", stream=sys.stderr)
    asyncio.run(measure(args.bundle, args.findings))


if __name__ == "__main__":
    main()
