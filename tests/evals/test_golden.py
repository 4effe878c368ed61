"""The committed golden transcripts replay exactly; a stale or orphaned one fails loudly, naming
the command that re-records it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from evals.golden import GOLDEN_DIR, check_golden, golden_files, rerecord_command
from evals.replay import read_run
from evals.scrub import NAME_PLACEHOLDER, PhiRedactor
from kg.store import GraphStore
from tools.fhir.sources import DirectoryPatientSource

GOLDENS = golden_files()


def test_the_goldens_cover_chinese_an_approval_and_a_degraded_round() -> None:
    results = [read_run(path)[0]["result"] for path in GOLDENS]
    assert 3 <= len(results) <= 5, [p.name for p in GOLDENS]
    assert any(r["language"] == "zh-TW" for r in results)
    assert any(r["pending_approval"] and r["proposals"] for r in results)
    assert any(r["degraded"] for r in results)
    assert any(not r["degraded"] for r in results)


@pytest.mark.parametrize("path", GOLDENS, ids=lambda p: p.stem)
async def test_golden_replays_exactly(path: Path, golden_kg: GraphStore) -> None:
    """And the shipped KG content still gives every answer the golden recorded."""
    problems = await check_golden(path, kg=golden_kg)
    assert not problems, "\n\n".join(p.message() for p in problems)


@pytest.mark.parametrize("path", GOLDENS, ids=lambda p: p.stem)
async def test_golden_holds_no_patient_identity(path: Path) -> None:
    header, record, _ = read_run(path)
    text = path.read_text(encoding="utf-8")  # noqa: ASYNC240 - a small local file
    shipped = await DirectoryPatientSource().load(header["patient_id"])
    redactor = PhiRedactor.for_record(shipped)
    whole = [original for original, _ in redactor.output_terms]
    assert whole  # the synthetic patient has a name and an MRN to hide
    assert [o for o in whole if o in text] == []
    assert record.patient.name == NAME_PLACEHOLDER
    notes = " ".join(f"{n.title} {n.text}" for n in record.notes)
    assert [o for o, _ in redactor.terms if o in notes] == []  # surnames in notes too


# --- the orphan check, on copies of a golden made stale on purpose ------------------------------


def lines_of(path: Path) -> list[dict[str, Any]]:
    return [json.loads(raw) for raw in path.read_text(encoding="utf-8").splitlines()]


def stale_copy(tmp_path: Path, edit: Any) -> Path:
    source = GOLDENS[0]
    copy = tmp_path / source.name
    shutil.copy(source, copy)
    lines = lines_of(copy)
    for line in lines:
        edit(line)
    copy.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), "utf-8")
    return copy


async def problems_of(path: Path) -> dict[str, str]:
    return {p.kind: p.message() for p in await check_golden(path)}


async def test_a_golden_whose_case_left_the_suites_is_an_orphan(tmp_path: Path) -> None:
    def edit(line: dict[str, Any]) -> None:
        if line["type"] == "header":
            line["case_id"] = "retired-case"

    found = await problems_of(stale_copy(tmp_path, edit))
    assert set(found) == {"orphan"}  # it still replays; only its case is gone
    assert "case 'retired-case' is in no suite" in found["orphan"]
    assert rerecord_command("retired-case") in found["orphan"]
    assert (
        "wardround evals record --model-url scripted --case retired-case --kg --phi redact "
        "--out evals/golden" in found["orphan"]
    )


async def test_a_golden_whose_kg_answers_the_graph_no_longer_gives_is_stale(
    tmp_path: Path, golden_kg: GraphStore
) -> None:
    """Replay answers from the transcript, so only asking the graph again sees a content change
    (here: the recorded interactions lose one, as if recorded before it was added)."""

    def edit(line: dict[str, Any]) -> None:
        if line["type"] == "kg_query" and line["method"] == "interactions_among":
            assert line["result"], "the golden should record at least one interaction"
            line["result"] = line["result"][1:]

    copy = stale_copy(tmp_path, edit)
    assert "kg" not in await problems_of(copy)  # without the graph: invisible
    found = {p.kind: p.message() for p in await check_golden(copy, kg=golden_kg)}
    assert "the knowledge graph now answers differently" in found["kg"]
    assert "interactions_among(" in found["kg"]
    case_id = read_run(GOLDENS[0])[0]["case_id"]
    assert rerecord_command(case_id) in found["kg"]
    assert "wardround kg load" in found["kg"]


async def test_a_golden_whose_case_changed_its_question_is_an_orphan(tmp_path: Path) -> None:
    case_id = read_run(GOLDENS[0])[0]["case_id"]

    def edit(line: dict[str, Any]) -> None:
        if line["type"] == "header":
            line["question"] = "An older wording of the question?"

    found = await problems_of(stale_copy(tmp_path, edit))
    assert "An older wording of the question?" in found["orphan"]
    assert "requests" in found  # and the prompt it recorded is not today's
    assert rerecord_command(case_id) in found["requests"]


async def test_a_golden_recorded_with_another_topology_is_stale(tmp_path: Path) -> None:
    def edit(line: dict[str, Any]) -> None:
        if line["type"] == "header":
            line["topology_sha256"] = "0" * 64

    found = await problems_of(stale_copy(tmp_path, edit))
    assert set(found) == {"topology"}
    assert "topology hash changed" in found["topology"]


async def test_a_golden_whose_request_bodies_drifted_names_the_diff(tmp_path: Path) -> None:
    def edit(line: dict[str, Any]) -> None:
        if line["type"] == "model_call":
            for message in line["request"]["messages"]:
                if message["role"] == "system" and isinstance(message["content"], str):
                    message["content"] = message["content"].replace("You are", "You were", 1)

    found = await problems_of(stale_copy(tmp_path, edit))
    assert "requests" in found
    assert "not in the transcript" in found["requests"]
    assert "You were" in found["requests"]  # the recorded side of the diff
    assert "--out evals/golden" in found["requests"]


async def test_a_golden_whose_answer_changed_shows_the_answer_diff(tmp_path: Path) -> None:
    def edit(line: dict[str, Any]) -> None:
        if line["type"] == "header":
            line["result"]["answer"] = "A recorded answer today's code does not give."

    found = await problems_of(stale_copy(tmp_path, edit))
    assert set(found) == {"answer"}
    assert '- "answer": "A recorded answer today\'s code does not give."' in found["answer"]


async def test_a_golden_not_recorded_as_goldens_are_is_flagged(tmp_path: Path) -> None:
    def edit(line: dict[str, Any]) -> None:
        if line["type"] == "header":
            line["phi"] = "keep"

    found = await problems_of(stale_copy(tmp_path, edit))
    assert "recording" in found
    assert "'keep'" in found["recording"]


def test_goldens_live_where_the_command_writes_them() -> None:
    assert Path(__file__).resolve().parents[2] / "evals" / "golden" == GOLDEN_DIR
    assert all(p.stem == read_run(p)[0]["case_id"] for p in GOLDENS)
