"""The calculator registry: every entry runs, cites its source and exposes a tool schema."""

from __future__ import annotations

import json

import pytest

from core.errors import InvalidInput
from tools.calculators import CALCULATORS, CalcResult, calculate, get_calculator, tool_schemas

SAMPLE_INPUTS: dict[str, dict[str, object]] = {
    "egfr_ckd_epi_2021": {"creatinine": 1.0, "age": 50, "sex": "female"},
    "cockcroft_gault": {"creatinine": 1.0, "age": 50, "sex": "female", "weight_kg": 60},
    "aki_stage": {"creatinine": [{"time": "2025-01-01T00:00:00Z", "value": 1.0}]},
    "anion_gap": {"sodium": 140, "chloride": 104, "bicarbonate": 24},
    "anion_gap_albumin_corrected": {
        "sodium": 140,
        "chloride": 104,
        "bicarbonate": 24,
        "albumin": 30,
    },
    "corrected_calcium": {"calcium": 2.1, "albumin": 30},
    "sodium_corrected_katz": {"sodium": 130, "glucose": 30},
    "sodium_corrected_hillier": {"sodium": 130, "glucose": 30},
    "serum_osmolality": {"sodium": 140, "glucose": 5, "urea": 5},
    "osmolal_gap": {"sodium": 140, "glucose": 5, "urea": 5, "measured_osmolality": 300},
    "news2": {
        "respiration_rate": 16,
        "spo2": 97,
        "on_oxygen": False,
        "systolic_bp": 120,
        "pulse": 70,
        "consciousness": "alert",
        "temperature": 37.0,
    },
    "qsofa": {"respiration_rate": 16, "systolic_bp": 120, "altered_mentation": False},
    "curb65": {
        "confusion": False,
        "urea": 5,
        "respiration_rate": 16,
        "systolic_bp": 120,
        "diastolic_bp": 70,
        "age": 50,
    },
    "cha2ds2_vasc": {
        "age": 70,
        "sex": "male",
        "heart_failure": False,
        "hypertension": True,
        "diabetes": False,
        "stroke_tia_thromboembolism": False,
        "vascular_disease": False,
    },
    "has_bled": {
        "uncontrolled_hypertension": False,
        "abnormal_renal_function": False,
        "abnormal_liver_function": False,
        "stroke": False,
        "bleeding": False,
        "labile_inr": False,
        "age": 70,
        "antiplatelet_or_nsaid": False,
        "alcohol": False,
    },
    "wells_pe": {
        "dvt_signs": False,
        "pe_most_likely": True,
        "heart_rate_over_100": False,
        "immobilisation_or_surgery": False,
        "previous_dvt_pe": False,
        "haemoptysis": False,
        "malignancy": False,
    },
    "qtc_bazett": {"qt_ms": 400, "heart_rate": 75},
    "qtc_fridericia": {"qt_ms": 400, "heart_rate": 75},
    "qtc_framingham": {"qt_ms": 400, "heart_rate": 75},
    "qtc_hodges": {"qt_ms": 400, "heart_rate": 75},
    "qtc_rautaharju": {"qt_ms": 400, "rr_ms": 800},
    "child_pugh": {
        "bilirubin": 1,
        "albumin": 4,
        "inr": 1,
        "ascites": "none",
        "encephalopathy": "none",
    },
    "meld_na": {"creatinine": 1, "bilirubin": 1, "inr": 1, "sodium": 135},
    "bmi": {"weight_kg": 70, "height_cm": 170},
    "bsa_mosteller": {"weight_kg": 70, "height_cm": 170},
    "bsa_du_bois": {"weight_kg": 70, "height_cm": 170},
    "anc": {"wbc": 5, "neutrophils_percent": 50},
    "mean_arterial_pressure": {"systolic_bp": 120, "diastolic_bp": 80},
    "maintenance_fluids": {"weight_kg": 70},
    "ideal_body_weight": {"sex": "female", "height_cm": 165},
    "adjusted_body_weight": {"sex": "female", "height_cm": 165, "weight_kg": 90},
    "ldl_friedewald": {"total_cholesterol": 5.0, "hdl_cholesterol": 1.2, "triglycerides": 1.5},
    "glasgow_coma_scale": {"eye": 3, "verbal": 4, "motor": 6},
    "sirs": {"temperature": 38.5, "heart_rate": 100, "respiration_rate": 18, "wbc": 9},
    "perc": {"age": 30, "heart_rate": 80, "spo2": 98},
    "centor_mcisaac": {"age": 20, "cough_absent": True},
    "feverpain": {"fever_past_24h": True},
    "wells_dvt": {"active_cancer": True},
    "revised_cardiac_risk_index": {"creatinine": 1.0},
    "heart_score": {"age": 50, "history": "moderately", "ecg": "normal", "troponin": "normal"},
    "egfr_mdrd": {"creatinine": 1.2, "age": 60, "sex": "male"},
    "fib4": {"age": 50, "ast": 40, "alt": 30, "platelets": 200},
    "free_water_deficit": {"sodium": 155, "age": 70, "sex": "male", "weight_kg": 70},
    "fractional_excretion_sodium": {
        "creatinine": 2.0,
        "urine_creatinine": 80,
        "sodium": 138,
        "urine_sodium": 40,
    },
    "steroid_conversion": {"steroid": "prednisolone", "dose_mg": 40, "target": "hydrocortisone"},
    "morphine_equivalents": {"doses": [{"drug": "oxycodone", "dose": 10, "per_day": 2}]},
    "padua": {"age": 75, "active_cancer": True},
    "caprini": {"age": 50, "surgery": "major"},
    "sofa": {
        "pao2_fio2": 300,
        "platelets": 120,
        "bilirubin": 30,
        "mean_arterial_pressure": 65,
        "gcs": 14,
        "creatinine": 150,
    },
    "charlson": {"age": 70, "diabetes": "uncomplicated"},
    "ciwa_ar": {
        "nausea_vomiting": 1,
        "tremor": 2,
        "paroxysmal_sweats": 1,
        "anxiety": 2,
        "agitation": 1,
        "tactile_disturbances": 0,
        "auditory_disturbances": 0,
        "visual_disturbances": 0,
        "headache": 1,
        "orientation": 0,
    },
    "glasgow_blatchford": {
        "urea": 9,
        "haemoglobin": 115,
        "sex": "male",
        "systolic_bp": 105,
        "heart_rate": 105,
    },
    "delta_gap": {"sodium": 140, "chloride": 100, "bicarbonate": 14},
    "delta_ratio": {"sodium": 140, "chloride": 100, "bicarbonate": 14},
    "apache_ii": {
        "age": 70,
        "temperature": 38.6,
        "mean_arterial_pressure": 65,
        "heart_rate": 115,
        "respiration_rate": 26,
        "fio2": 0.4,
        "pao2_mmhg": 65,
        "arterial_ph": 7.3,
        "sodium": 134,
        "potassium": 5.6,
        "creatinine": 160,
        "creatinine_unit": "umol/L",
        "haematocrit": 32,
        "wbc": 16,
        "gcs": 14,
    },
    "pneumonia_severity_index": {
        "age": 78,
        "sex": "male",
        "respiration_rate": 32,
        "systolic_bp": 95,
        "temperature": 38.5,
        "pulse": 110,
    },
}


def test_every_calculator_has_a_sample() -> None:
    assert set(SAMPLE_INPUTS) == set(CALCULATORS)


@pytest.mark.parametrize("name", sorted(SAMPLE_INPUTS))
def test_calculator_runs_and_cites(name: str) -> None:
    calc = get_calculator(name)
    result = calc.run(SAMPLE_INPUTS[name])
    assert result.calculator == name
    assert result.source == calc.source.cite()
    assert 1900 < calc.source.year <= 2025
    assert result.unit
    assert CalcResult.model_validate_json(result.model_dump_json()) == result
    citation = result.citation()
    assert (citation.kind, citation.ref) == ("calc", f"calc:{name}")


@pytest.mark.parametrize("name", sorted(SAMPLE_INPUTS))
def test_tool_schema(name: str) -> None:
    tool = get_calculator(name).tool_schema()
    assert tool["type"] == "function"
    function = tool["function"]
    assert function["name"] == name
    assert "Source:" in function["description"]
    assert function["parameters"]["type"] == "object"
    assert set(SAMPLE_INPUTS[name]) <= set(function["parameters"]["properties"])
    json.dumps(tool)


def test_tool_schemas_cover_the_registry() -> None:
    assert [t["function"]["name"] for t in tool_schemas()] == list(CALCULATORS)


def test_unknown_calculator_lists_the_known_ones() -> None:
    with pytest.raises(InvalidInput, match=r"unknown calculator 'egfr'.*egfr_ckd_epi_2021"):
        calculate("egfr", {})


def test_parameters_describe_units() -> None:
    params = {p.name: p for p in get_calculator("egfr_ckd_epi_2021").parameters()}
    assert params["creatinine"].required
    assert params["creatinine_unit"].default == "'mg/dL'"
    assert "umol/L" in params["creatinine_unit"].description
