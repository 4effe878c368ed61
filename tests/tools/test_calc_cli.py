"""``wardround calc``: the CLI over the calculator registry."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from core.errors import InvalidInput
from tools.cli_calc import parse_params, register


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """wardround (test harness)."""

    register(app)
    return app


def run(app: typer.Typer, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["calc", *args])
    return result.exit_code, result.stdout, result.stderr


def test_egfr_json(app: typer.Typer) -> None:
    code, out, _ = run(
        app,
        "egfr_ckd_epi_2021",
        "--creatinine",
        "85",
        "--creatinine-unit",
        "umol/L",
        "--age",
        "65",
        "--sex",
        "female",
        "--json",
    )
    assert code == 0
    result = json.loads(out)
    assert result["value"] == 66  # the NKF example in test_calc_renal
    assert result["conversions"]


def test_human_output(app: typer.Typer) -> None:
    code, out, _ = run(app, "bmi", "--weight-kg=70", "--height-cm=175")
    assert code == 0
    assert "bmi: 22.9 kg/m2" in out
    assert "World Health Organization" in out


def test_flag_without_value_is_true(app: typer.Typer) -> None:
    code, out, _ = run(
        app,
        "qsofa",
        "--respiration-rate",
        "24",
        "--systolic-bp",
        "95",
        "--altered-mentation",
        "--json",
    )
    assert code == 0
    assert json.loads(out)["value"] == 3


def test_json_list_parameter(app: typer.Typer) -> None:
    series = [
        {"time": "2025-03-01T06:00:00Z", "value": 1.0},
        {"time": "2025-03-02T06:00:00Z", "value": 2.1},
    ]
    code, out, _ = run(app, "aki_stage", "--creatinine", json.dumps(series), "--json")
    assert code == 0
    assert json.loads(out)["category"] == "stage 2"


def test_list(app: typer.Typer) -> None:
    code, out, _ = run(app, "--list", "--json")
    assert code == 0
    names = {row["name"] for row in json.loads(out)}
    assert {"egfr_ckd_epi_2021", "news2", "meld_na", "aki_stage"} <= names
    code, out, _ = run(app, "--list")
    assert code == 0
    assert "cockcroft_gault" in out


def test_bad_value_lists_parameters(app: typer.Typer) -> None:
    code, _, err = run(
        app, "egfr_ckd_epi_2021", "--creatinine", "-1", "--age", "50", "--sex", "male"
    )
    assert code == 2
    assert "egfr_ckd_epi_2021: creatinine: Input should be greater than 0" in err
    assert "--creatinine-unit" in err
    assert "mg/dL | umol/L" in err


def test_unknown_parameter(app: typer.Typer) -> None:
    code, _, err = run(app, "bmi", "--weight", "70", "--height-cm", "170")
    assert code == 2
    assert "weight: unknown parameter" in err
    assert "--weight-kg" in err


def test_unknown_calculator_and_missing_name(app: typer.Typer) -> None:
    code, _, err = run(app, "gfr")
    assert code == 2
    assert "unknown calculator 'gfr'" in err
    code, _, err = run(app)
    assert code == 2
    assert "--list" in err


def test_parse_params() -> None:
    assert parse_params(["--age", "67", "--sex=female", "--on-oxygen", "--spo2-scale", "2"]) == {
        "age": 67,
        "sex": "female",
        "on_oxygen": True,
        "spo2_scale": 2,
    }
    assert parse_params(["--creatinine-unit", "umol/L", "--x", "-1.5"]) == {
        "creatinine_unit": "umol/L",
        "x": -1.5,
    }
    with pytest.raises(InvalidInput, match="expected --name value"):
        parse_params(["67"])
    with pytest.raises(InvalidInput, match="malformed JSON"):
        parse_params(["--creatinine", "[{oops"])


def test_help_for_a_calculator_lists_its_parameters(app: typer.Typer) -> None:
    code, out, _ = run(app, "cockcroft_gault", "--help")
    assert code == 0
    assert "--weight-basis" in out
    assert "--height-cm" in out
    assert "Cockcroft DW" in out


def test_help_without_a_name_is_the_command_help(app: typer.Typer) -> None:
    code, out, _ = run(app, "--help")
    assert code == 0
    assert "--list" in out


def test_help_for_an_unknown_calculator_fails(app: typer.Typer) -> None:
    code, _, err = run(app, "no_such_score", "--help")
    assert code == 2
    assert "unknown calculator" in err
