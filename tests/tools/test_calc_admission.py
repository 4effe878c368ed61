"""APACHE II, the Pneumonia Severity Index, the delta gap and the delta ratio: units, bands and
bad input (their published examples are in data/published_calc_examples.yaml)."""

from __future__ import annotations

import pytest

from core.errors import InvalidInput
from tools.calculators import calculate

NORMAL = {
    "age": 40, "temperature": 37, "mean_arterial_pressure": 90, "heart_rate": 80,
    "respiration_rate": 16, "fio2": 0.21, "pao2_mmhg": 90, "arterial_ph": 7.4, "sodium": 140,
    "potassium": 4.0, "creatinine": 1.0, "haematocrit": 40, "wbc": 8, "gcs": 15,
}  # fmt: skip
PSI_BASE = {
    "age": 60, "sex": "male", "respiration_rate": 18, "systolic_bp": 130, "temperature": 37,
    "pulse": 80,
}  # fmt: skip


def test_apache_all_normal_scores_zero() -> None:
    assert calculate("apache_ii", NORMAL).value == 0


def test_apache_units_convert_through_tools_units() -> None:
    # HAND: creatinine 221 umol/L = 2.5 mg/dL (3 points, doubled in acute renal failure = 6);
    # 102.2 degF = 39.0 C (3 points); WBC 16 000/uL = 16 x 10^9/L (1 point): 10
    result = calculate(
        "apache_ii",
        {**NORMAL, "creatinine": 221, "creatinine_unit": "µmol/L", "acute_renal_failure": True,
         "temperature": 102.2, "temperature_unit": "F", "wbc": 16000, "wbc_unit": "/uL"},
    )  # fmt: skip
    assert result.value == 10
    assert result.components["creatinine"] == 6
    assert any("degF" in c for c in result.conversions)
    assert any("creatinine 221 umol/L" in c for c in result.conversions)


def test_apache_a_a_gradient_from_pao2_and_paco2() -> None:
    # HAND: FiO2 0.6: PAO2 = 0.6 x 713 - 40/0.8 = 377.8; A-a = 377.8 - 80 = 297.8 -> 2 points
    result = calculate("apache_ii", {**NORMAL, "fio2": 0.6, "pao2_mmhg": 80, "paco2_mmhg": 40})
    assert result.components["oxygenation"] == 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"mean_arterial_pressure": None}, "give mean_arterial_pressure"),
        ({"fio2": 0.6}, "FiO2 >= 0.5: give a_a_gradient_mmhg"),
        ({"pao2_mmhg": None}, "FiO2 < 0.5: give pao2_mmhg"),
        ({"temperature": 370}, "temperature 370 Cel is not a living patient's"),
        ({"creatinine": 90}, "creatinine 90 mg/dL is outside the plausible range"),
        ({"gcs": 2}, "gcs: Input should be greater than or equal to 3"),
    ],
)
def test_apache_refuses_bad_input_naming_it(change: dict[str, object], message: str) -> None:
    params = {k: v for k, v in {**NORMAL, **change}.items() if v is not None}
    with pytest.raises(InvalidInput, match=message):
        calculate("apache_ii", params)


def test_psi_labs_not_given_are_scored_normal_and_said() -> None:
    result = calculate("pneumonia_severity_index", PSI_BASE)
    assert result.value == 60
    assert any("scored as normal" in w and "arterial_ph" in w for w in result.warnings)


def test_psi_urea_in_mmol_l_meets_the_bun_30_mg_dl_threshold() -> None:
    # HAND: BUN 30 mg/dL = urea 10.7 mmol/L: 11 mmol/L scores 20, 10 mmol/L does not
    assert calculate("pneumonia_severity_index", {**PSI_BASE, "urea": 11, "urea_unit": "mmol/L"}
                     ).components["urea"] == 20  # fmt: skip
    assert calculate("pneumonia_severity_index", {**PSI_BASE, "urea": 10, "urea_unit": "mmol/L"}
                     ).components["urea"] == 0  # fmt: skip


def test_psi_class_v_and_an_adult_only_model() -> None:
    # HAND: man of 80, nursing home 10, neoplastic 30, RR 32 20, SBP 85 20, pH 7.30 30: 190
    result = calculate(
        "pneumonia_severity_index",
        {**PSI_BASE, "age": 80, "nursing_home_resident": True, "neoplastic_disease": True,
         "respiration_rate": 32, "systolic_bp": 85, "arterial_ph": 7.30},
    )  # fmt: skip
    assert (result.value, result.category) == (190, "class V")
    with pytest.raises(InvalidInput, match="age: Input should be greater than or equal to 18"):
        calculate("pneumonia_severity_index", {**PSI_BASE, "age": 12})


def test_delta_ratio_needs_a_metabolic_acidosis() -> None:
    with pytest.raises(InvalidInput, match="bicarbonate 26 mmol/L is not below 24"):
        calculate("delta_ratio", {"sodium": 140, "chloride": 100, "bicarbonate": 26})
    # the delta gap itself is defined at any bicarbonate: HAND 140 - 126 - 12 = 2
    assert calculate("delta_gap", {"sodium": 140, "chloride": 100, "bicarbonate": 26}).value == 2


def test_delta_ratio_bands() -> None:
    # HAND: Na 140, Cl 115, HCO3 14: AG 11, delta gap -1, ratio -0.1: normal anion gap acidosis
    low = calculate("delta_ratio", {"sodium": 140, "chloride": 115, "bicarbonate": 14})
    assert low.category == "normal anion gap acidosis (< 0.4)"
    # HAND: Na 140, Cl 90, HCO3 20: AG 30, delta gap 18, ratio 18/4 = 4.5: with alkalosis
    high = calculate("delta_ratio", {"sodium": 140, "chloride": 90, "bicarbonate": 20})
    assert high.value == pytest.approx(4.5)
    assert high.category == "high anion gap acidosis with metabolic alkalosis (> 2)"
