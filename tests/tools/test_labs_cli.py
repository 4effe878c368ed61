"""``wardround labs``: table and JSON output, errors as exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from structlog.testing import capture_logs
from typer.testing import CliRunner

from core.settings import SHIPPED_DATA
from tools.cli_labs import register


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.command()
    def version() -> None:  # a second command, so `labs` is a subcommand as in the real CLI
        typer.echo("0")

    return app


def test_json_output(app: typer.Typer) -> None:
    with capture_logs():
        result = CliRunner().invoke(
            app, ["labs", "--patient", "hyperkalaemia-acei-spironolactone", "--json"]
        )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["patient"] == "hyperkalaemia-acei-spironolactone"
    k = [f for f in doc["flags"] if f["loinc"] == "2823-3"]
    assert [f["flag"] for f in k] == ["H", "H", "HH"]
    critical = [f for f in doc["findings"] if f["severity"] == "critical"]
    assert critical[0]["labs"] == ["2823-3"]
    assert critical[0]["citations"][0]["ref"].startswith("Observation/")


def test_table_output_from_a_file_path(app: typer.Typer, tmp_path: Path) -> None:
    file = tmp_path / "dka.json"
    file.write_bytes((SHIPPED_DATA / "patients" / "dka.json").read_bytes())
    with capture_logs():
        result = CliRunner().invoke(
            app, ["labs", "--patient", str(file), "--all"], terminal_width=200
        )
    assert result.exit_code == 0, result.output
    assert "dka" in result.stdout
    assert "Beta-hydroxybutyrate" in result.stdout
    assert "was critically low" in result.stdout


def test_unknown_patient_exits_2(app: typer.Typer) -> None:
    with capture_logs():
        result = CliRunner().invoke(app, ["labs", "--patient", "nobody"])
    assert result.exit_code == 2
    assert "Record not found" in result.stderr
