"""Loading: idempotent and versioned; a malformed file names file:line and keeps the old graph."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from core.errors import DataFileError
from core.settings import SHIPPED_DATA
from kg.ladybug_store import LadybugStore
from kg.load import load_ladybug


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(SHIPPED_DATA / "kg", target)
    return target


def _version(path: Path) -> str | None:
    with LadybugStore.open(path) as store:
        return store.content_version()


def test_reload_of_the_same_version_is_a_fast_no_op(tmp_path: Path, data_dir: Path) -> None:
    path = tmp_path / "kg" / "ladybug.db"
    path.parent.mkdir()
    first = load_ladybug(path, data_dir=data_dir, scope="none", show_progress=False)
    assert not first.skipped
    assert first.edges > 1000
    mtime = path.stat().st_mtime_ns
    started = time.perf_counter()
    again = load_ladybug(path, data_dir=data_dir, scope="none", show_progress=False)
    assert again.skipped
    assert again.version == first.version
    assert time.perf_counter() - started < 2.0
    assert path.stat().st_mtime_ns == mtime


def test_changed_data_gives_a_new_version(tmp_path: Path, data_dir: Path) -> None:
    path = tmp_path / "ladybug.db"
    first = load_ladybug(path, data_dir=data_dir, scope="none", show_progress=False)
    monitoring = data_dir / "monitoring.yaml"
    monitoring.write_text(
        monitoring.read_text(encoding="utf-8") + "\n# reviewed\n", encoding="utf-8"
    )
    second = load_ladybug(path, data_dir=data_dir, scope="none", show_progress=False)
    assert not second.skipped
    assert second.version != first.version
    assert _version(path) == second.version
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "ladybug.db", "ladybug.db.lock"]


def test_malformed_csv_names_file_and_line_and_keeps_previous_graph(
    tmp_path: Path, data_dir: Path
) -> None:
    path = tmp_path / "ladybug.db"
    good = load_ladybug(path, data_dir=data_dir, scope="none", show_progress=False)
    interactions = data_dir / "interactions.csv"
    lines = interactions.read_text(encoding="utf-8").splitlines()
    lines[5] = "warfarin,notadrug,major,mechanism here,effect here,manage it,some source,"
    interactions.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(
        DataFileError, match=r"^interactions\.csv:6: unknown drug 'notadrug'"
    ) as err:
        load_ladybug(path, data_dir=data_dir, scope="none", show_progress=False)
    assert (err.value.file, err.value.line) == ("interactions.csv", 6)
    assert _version(path) == good.version
    with LadybugStore.open(path) as store:
        assert store.resolve_drugs(["warfarin"]).resolved
    assert not any(p.name.startswith(".ladybug.db.building") for p in tmp_path.iterdir())


@pytest.mark.parametrize(
    "case",
    [
        (
            "contraindications.yaml",
            "level: contraindicated, lab: {analyte: egfr, lt: 30}",
            "level: never, lab: {analyte: egfr, lt: 30}",
            r"^contraindications\.yaml:11: level",
        ),
        (
            "guidelines.yaml",
            'source: "KDIGO AKI 2012, recommendation 3.4.1"',
            'source: ""',
            r"^guidelines\.yaml:\d+: source",
        ),
        (
            "drug_classes.yaml",
            "  - {id: vka,",
            "  - {id: vka,, ",
            r"^drug_classes\.yaml:7: invalid YAML",
        ),
        ("monitoring.yaml", "loinc: 6301-6", "loinc: 9999-9", r"^monitoring\.yaml:3: LOINC 9999-9"),
        (  # a manifest must name an interaction that exists
            "interaction_manifests.yaml",
            "{a: warfarin, b: clarithromycin,",
            "{a: warfarin, b: furosemide,",
            r"^interaction_manifests\.yaml:10: warfarin \+ furosemide: no such interaction",
        ),
        (  # and say what the criterion is on
            "interaction_manifests.yaml",
            "lab: {analyte: qtc, gt: 500}",
            "lab: {analyte: qtc}",
            r"^interaction_manifests\.yaml:12: lab",
        ),
    ],
)
def test_malformed_yaml_names_file_and_line(
    tmp_path: Path, data_dir: Path, case: tuple[str, str, str, str]
) -> None:
    name, find, replace, expected = case
    target = data_dir / name
    text = target.read_text(encoding="utf-8")
    assert find in text
    target.write_text(text.replace(find, replace, 1), encoding="utf-8")
    with pytest.raises(DataFileError, match=expected):
        load_ladybug(tmp_path / "ladybug.db", data_dir=data_dir, scope="none", show_progress=False)
    assert not (tmp_path / "ladybug.db").exists()


def test_unknown_icd_code_is_rejected(tmp_path: Path, data_dir: Path) -> None:
    target = data_dir / "contraindications.yaml"
    text = target.read_text(encoding="utf-8").replace("condition: K72,", "condition: K7Z,", 1)
    target.write_text(text, encoding="utf-8")
    with pytest.raises(DataFileError, match=r"unknown ICD-10-CM code 'K7Z'"):
        load_ladybug(tmp_path / "ladybug.db", data_dir=data_dir, scope="none", show_progress=False)
