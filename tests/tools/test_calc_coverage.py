"""MedCalc-Bench's 55 calculators: which wardround calculator covers each, or why none does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tools.calculators import CALCULATORS

DATA = Path(__file__).parent / "data" / "medcalc_bench_calculators.yaml"
LIST: dict[int, dict[str, Any]] = yaml.safe_load(DATA.read_text(encoding="utf-8"))["calculators"]


def test_the_list_is_medcalc_bench_s_55() -> None:
    assert len(LIST) == 55


def test_every_entry_is_covered_or_says_why_not() -> None:
    for number, entry in LIST.items():
        assert ("ours" in entry) != ("left_out" in entry), number
        if "ours" in entry:
            assert entry["ours"] in CALCULATORS, (number, entry)
        else:
            assert entry["left_out"].strip(), number


def test_coverage() -> None:
    covered = sum("ours" in e for e in LIST.values())
    assert covered == 47  # the number README.md and BENCHMARKS.md state
