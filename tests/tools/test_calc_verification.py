"""The verification log (data/calculator_verification.yaml) against the code it vouches for.

Each prognosis table's `published` rates were read from the source the log names; the code must
return exactly those. Every entry says what was read and gives one of the allowed verdicts.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tools.calculators import CALCULATORS
from tools.prognosis import (
    Prognosis,
    cha2ds2_vasc_stroke_rate,
    curb65_mortality,
    has_bled_bleeding_rate,
    meld_mortality,
    padua_vte_risk,
)

DATA = Path(__file__).parent / "data" / "calculator_verification.yaml"
LOG: dict[str, list[dict[str, Any]]] = yaml.safe_load(DATA.read_text(encoding="utf-8"))
VERDICTS = {"verified", "corrected", "partly verified", "unverifiable"}
RATE: dict[str, Callable[[int], Prognosis]] = {
    "cha2ds2_vasc_stroke_rate": lambda s: cha2ds2_vasc_stroke_rate(s, atrial_fibrillation=True),
    "has_bled_bleeding_rate": lambda s: has_bled_bleeding_rate(s, anticoagulated=True),
    "curb65_mortality": curb65_mortality,
    "meld_3_month_mortality": meld_mortality,
    "padua_vte_risk": padua_vte_risk,
}
ROWS = [
    (entry["table"].split()[0], score, rate)
    for entry in LOG["prognosis"]
    for score, rate in entry["published"].items()
]


ENTRIES = LOG["calculators"] + LOG["prognosis"]


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["table"].split()[0] for e in ENTRIES])
def test_every_entry_says_what_was_read_and_its_verdict(entry: dict[str, Any]) -> None:
    assert entry["verdict"] in VERDICTS
    assert entry["source_read"].strip()
    assert str(entry["date"]) == "2026-12-06"
    if entry["verdict"] == "corrected":
        assert entry["correction"].strip()


def test_logged_calculators_are_registered() -> None:
    for entry in LOG["calculators"]:
        assert entry["table"].split()[0] in CALCULATORS, entry["table"]


@pytest.mark.parametrize(("model", "score", "published"), ROWS)
def test_prognosis_returns_the_rate_read_in_the_source(
    model: str, score: int, published: float
) -> None:
    result = RATE[model](score)
    assert result.model == model
    assert result.probability == pytest.approx(published / 100, abs=1e-9)
