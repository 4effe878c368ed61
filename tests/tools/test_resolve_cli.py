"""``wardround kg resolve``: the pharmacist's table, for names, codes and a whole patient."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.settings import REPO_ROOT, Settings
from kg.load import load_ladybug
from server.cli import app

EURA = REPO_ROOT / "tests" / "data" / "fhir-external" / "synthea21-eura-treutel.json"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("resolve-cli")
    settings = Settings(data_dir=folder)
    settings.kg_path.parent.mkdir(parents=True)
    load_ladybug(settings.kg_path, scope="none", show_progress=False)
    return folder


def run(data_dir: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    monkeypatch.setenv("WARDROUND_DATA_DIR", str(data_dir))
    monkeypatch.setenv("COLUMNS", "200")
    result = CliRunner().invoke(app, ["kg", "resolve", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_names_and_codes_as_a_table(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = run(
        data_dir, monkeypatch, "Warfarin Sodium 5 MG Oral Tablet", "Simvistatin 10 MG",
        "atc:C09BB05", "Influenzavaccin",
    )  # fmt: skip
    lines = out.splitlines()
    warfarin = next(line for line in lines if "Warfarin Sodium" in line)
    assert "product_name" in warfarin
    assert "0.95" in warfarin
    assert "fuzzy" in next(line for line in lines if "Simvistatin" in line)
    assert "ramipril, felodipine" in out
    assert "unresolved" in next(line for line in lines if "Influenzavaccin" in line)


def test_a_whole_patient_as_json(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = json.loads(run(data_dir, monkeypatch, "--patient", str(EURA), "--json"))
    by_text = {row["text"]: row for row in rows}
    simvastatin = by_text["Simvistatin 10 MG"]  # RxNorm 316672, misspelt by the record
    assert simvastatin["ingredients"][0]["how"] == "rxnorm_product"
    assert simvastatin["repeats"] == []  # its nine older prescriptions are stopped: history
    assert {i["name"] for row in rows for i in row["ingredients"]} >= {"warfarin", "digoxin"}
