"""Prognosis: validated models against their published values; outside the population, no number.

KFRE: the worked example of the kfre library (Shpaner, MIT; github.com/lshpaner/kfre README,
"Example Calculation for 2-year and 5-year Risk": 57.28-year-old woman outside North America,
eGFR 15, ACR 1762.00184 mg/g: 2-year 44.66%, 5-year 89.89%). The tables: each score's rate as
printed in its source (Lip 2010 via ESC 2010 Table 8; Pisters 2010; Lim 2003; Wiesner 2003;
Barbar 2010).
"""

from __future__ import annotations

import pytest

from core.errors import InvalidInput
from tools.prognosis import (
    KfreInput,
    cha2ds2_vasc_stroke_rate,
    curb65_mortality,
    has_bled_bleeding_rate,
    kfre,
    meld_mortality,
    padua_vte_risk,
)

KFRE_EXAMPLE = {"age": 57.28, "sex": "female", "egfr": 15, "acr": 1762.00184, "acr_unit": "mg/g"}


@pytest.mark.parametrize(("years", "published"), [(2, 0.4466), (5, 0.8989)])
def test_kfre_matches_the_published_example(years: int, published: float) -> None:
    result = kfre(KfreInput(**KFRE_EXAMPLE), 2 if years == 2 else 5)
    assert result.applied
    assert result.probability == pytest.approx(published, abs=0.0001)
    assert "non north american" in result.statement
    assert "Tangri" in result.source
    assert "721 357" in result.cohort


def test_kfre_north_american_baseline_is_higher_risk() -> None:
    na = kfre(KfreInput(**KFRE_EXAMPLE, region="north_american"), 2)
    other = kfre(KfreInput(**KFRE_EXAMPLE), 2)
    assert na.probability is not None
    assert other.probability is not None
    assert na.probability > other.probability


def test_kfre_acr_in_mg_per_mmol() -> None:
    # 1762.00184 mg/g = 199.32 mg/mmol (x 113.12 / 1000)
    mmol = kfre(KfreInput(**{**KFRE_EXAMPLE, "acr": 199.318, "acr_unit": "mg/mmol"}), 5)
    assert mmol.probability == pytest.approx(0.8989, abs=0.0002)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"on_dialysis": True}, "dialysis"),
        ({"egfr": 75}, "G3-G5"),
        ({"egfr": 8}, "below the cohorts"),
        ({"age": 16}, "adults"),
    ],
)
def test_kfre_is_not_applied_outside_its_population(change: dict[str, object], reason: str) -> None:
    result = kfre(KfreInput(**{**KFRE_EXAMPLE, **change}), 2)
    assert not result.applied
    assert result.probability is None
    assert reason in result.not_applied_reason


def test_kfre_refuses_impossible_input() -> None:
    with pytest.raises(InvalidInput, match="egfr"):
        KfreInput(**{**KFRE_EXAMPLE, "egfr": -3})


@pytest.mark.parametrize(
    ("score", "published_percent"),
    [(0, 0.0), (1, 1.3), (2, 2.2), (3, 3.2), (4, 4.0), (5, 6.7), (6, 9.8), (9, 15.2)],
)
def test_cha2ds2_vasc_rate(score: int, published_percent: float) -> None:
    result = cha2ds2_vasc_stroke_rate(score, atrial_fibrillation=True, age=80)
    assert result.probability == pytest.approx(published_percent / 100)


def test_cha2ds2_vasc_without_af_is_not_applied() -> None:
    result = cha2ds2_vasc_stroke_rate(4, atrial_fibrillation=False)
    assert not result.applied
    assert "atrial fibrillation" in result.statement


@pytest.mark.parametrize(
    ("score", "published_per_100"),
    [(0, 1.13), (1, 1.02), (2, 1.88), (3, 3.74), (4, 8.70), (5, 12.50)],
)
def test_has_bled_rate(score: int, published_per_100: float) -> None:
    result = has_bled_bleeding_rate(score, anticoagulated=True)
    assert result.probability == pytest.approx(published_per_100 / 100)


def test_has_bled_above_five_has_no_rate() -> None:
    assert has_bled_bleeding_rate(6, anticoagulated=True).probability is None


@pytest.mark.parametrize(
    ("score", "published_percent"), [(0, 0.7), (1, 2.1), (2, 9.2), (3, 14.5), (4, 40.0), (5, 57.0)]
)
def test_curb65_mortality(score: int, published_percent: float) -> None:
    assert curb65_mortality(score, age=70).probability == pytest.approx(published_percent / 100)


def test_curb65_is_for_adults() -> None:
    assert not curb65_mortality(1, age=12).applied


@pytest.mark.parametrize(
    ("meld", "published_percent"),
    [(9, 1.9), (10, 6.0), (19, 6.0), (20, 19.6), (35, 52.6), (40, 71.3)],
)
def test_meld_bands(meld: float, published_percent: float) -> None:
    assert meld_mortality(meld).probability == pytest.approx(published_percent / 100)


def test_meld_na_says_the_bands_are_for_meld() -> None:
    assert "bands are for MELD" in meld_mortality(22, score_name="MELD-Na").statement


@pytest.mark.parametrize(("score", "published_percent"), [(3, 0.3), (4, 11.0), (7, 11.0)])
def test_padua_vte_risk(score: int, published_percent: float) -> None:
    assert padua_vte_risk(score).probability == pytest.approx(published_percent / 100)


def test_every_prognosis_cites_its_source_and_cohort() -> None:
    results = [
        kfre(KfreInput(**KFRE_EXAMPLE), 5),
        cha2ds2_vasc_stroke_rate(3, atrial_fibrillation=True),
        has_bled_bleeding_rate(3, anticoagulated=False),
        curb65_mortality(2),
        meld_mortality(18),
        padua_vte_risk(5, on_prophylaxis=True),
    ]
    for result in results:
        assert result.source
        assert result.cohort
        assert result.horizon
        assert result.citation().ref == f"prognosis:{result.model}"
