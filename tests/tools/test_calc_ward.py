"""Issue #18 calculators: refusals name the parameter; the dosing weight is said; criteria not
given are said. (Published worked examples are in test_calc_published.)"""

from __future__ import annotations

import pytest

from core.errors import InvalidInput
from tools.calculators import calculate


def test_cockcroft_gault_states_the_weight_used() -> None:
    base = {"creatinine": 1.0, "age": 60, "sex": "male", "weight_kg": 120, "height_cm": 175}
    actual = calculate("cockcroft_gault", base)
    adjusted = calculate("cockcroft_gault", {**base, "weight_basis": "adjusted"})
    ideal = calculate("cockcroft_gault", {**base, "weight_basis": "ideal"})
    assert actual.value > adjusted.value > ideal.value
    assert "actual body weight" in actual.interpretation
    assert "adjusted body weight" in adjusted.interpretation
    assert "ideal body weight" in ideal.interpretation
    # HAND: Devine IBW 175 cm man = 50 + 2.3 x (68.898 - 60) = 70.46 kg
    assert ideal.components["weight_used_kg"] == pytest.approx(70.46, abs=0.01)


def test_ideal_weight_is_not_above_actual_weight() -> None:
    result = calculate(
        "cockcroft_gault",
        {"creatinine": 1.0, "age": 60, "sex": "female", "weight_kg": 45, "height_cm": 170,
         "weight_basis": "ideal"},
    )  # fmt: skip
    assert result.components["weight_used_kg"] == 45
    assert "below ideal weight" in result.interpretation


def test_cockcroft_gault_needs_height_for_a_dosing_weight() -> None:
    with pytest.raises(InvalidInput, match="height_cm"):
        calculate(
            "cockcroft_gault",
            {"creatinine": 1.0, "age": 60, "sex": "male", "weight_kg": 80, "weight_basis": "ideal"},
        )


@pytest.mark.parametrize(
    ("name", "params", "parameter"),
    [
        ("mean_arterial_pressure", {"systolic_bp": 80, "diastolic_bp": 90}, "diastolic_bp"),
        ("glasgow_coma_scale", {"eye": 5, "verbal": 5, "motor": 6}, "eye"),
        ("ldl_friedewald", {"total_cholesterol": 6, "hdl_cholesterol": 1, "triglycerides": 5},
         "triglycerides"),
        ("sirs", {"temperature": 52, "heart_rate": 80, "respiration_rate": 12, "wbc": 5},
         "temperature"),
        ("glasgow_blatchford", {"urea": 9, "haemoglobin": 11, "haemoglobin_unit": "mmol/L",
                                "sex": "male", "systolic_bp": 100, "heart_rate": 90},
         "haemoglobin_unit"),
        ("revised_cardiac_risk_index", {"creatinine": 900}, "creatinine"),
        ("ideal_body_weight", {"sex": "male", "height_cm": 90}, "height_cm"),
        ("fib4", {"age": 50, "ast": 40, "alt": 30, "platelets": 200, "platelets_unit": "g/L"},
         "platelets_unit"),
        ("egfr_mdrd", {"creatinine": 0.01, "age": 50, "sex": "male"}, "creatinine"),
        ("free_water_deficit", {"sodium": 250, "age": 50, "sex": "male", "weight_kg": 70},
         "sodium"),
        ("fractional_excretion_sodium", {"creatinine": 1, "urine_creatinine": 5000, "sodium": 140,
                                         "urine_sodium": 20}, "urine_creatinine"),
        ("steroid_conversion", {"steroid": "aspirin", "dose_mg": 5, "target": "prednisolone"},
         "steroid"),
        ("morphine_equivalents", {"doses": []}, "doses"),
        ("morphine_equivalents", {"doses": [{"drug": "buprenorphine", "dose": 5}]}, "drug"),
        ("sofa", {"pao2_fio2": 300, "platelets": 100, "bilirubin": 20,
                  "mean_arterial_pressure": 70, "gcs": 2, "creatinine": 100}, "gcs"),
        ("ciwa_ar", {"nausea_vomiting": 8, "tremor": 0, "paroxysmal_sweats": 0, "anxiety": 0,
                     "agitation": 0, "tactile_disturbances": 0, "auditory_disturbances": 0,
                     "visual_disturbances": 0, "headache": 0, "orientation": 0},
         "nausea_vomiting"),
    ],
)  # fmt: skip
def test_impossible_input_is_refused_naming_the_parameter(
    name: str, params: dict[str, object], parameter: str
) -> None:
    with pytest.raises(InvalidInput, match=parameter):
        calculate(name, params)


def test_criteria_not_given_are_said() -> None:
    result = calculate("wells_dvt", {"active_cancer": True})
    assert result.value == 1
    assert "previous_dvt" in result.warnings[0]
    complete = calculate(
        "perc",
        {"age": 30, "heart_rate": 80, "spo2": 98, "unilateral_leg_swelling": False,
         "haemoptysis": False, "recent_surgery_or_trauma": False, "previous_dvt_pe": False,
         "hormone_use": False},
    )  # fmt: skip
    assert not any("not given" in w for w in complete.warnings)


def test_ldl_in_mmol_per_litre() -> None:
    # HAND: 5.0 - 1.2 - 1.5 / 2.2 = 3.12 mmol/L (Friedewald in SI units divides TG by 2.2;
    # through mg/dL with the molar masses it is 3.11)
    result = calculate(
        "ldl_friedewald", {"total_cholesterol": 5.0, "hdl_cholesterol": 1.2, "triglycerides": 1.5}
    )
    assert result.unit == "mmol/L"
    assert result.value == pytest.approx(3.12, abs=0.02)


def test_heart_score_three_risk_factors_score_two() -> None:
    params = {
        "age": 50,
        "history": "highly",
        "ecg": "significant_st_deviation",
        "troponin": "over_3x",
        "hypertension": True,
        "diabetes": True,
        "smoking": True,
    }
    result = calculate("heart_score", params)
    assert result.components["risk_factors"] == 2
    assert result.value == 9
    assert result.category == "high (7-10)"
