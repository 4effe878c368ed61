"""The CLI as a person uses it: human output keeps its [citations]; bad input is a clear error."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def wardround(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WARDROUND_DATA_DIR": str(tmp_path), "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [sys.executable, "-c", "from server.cli import main; main()", *args],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_ask_prints_the_answer_with_bracketed_citations(tmp_path: Path) -> None:
    done = wardround(tmp_path, "ask", "--patient", "aki-on-ckd", "--no-model", "Why?")
    assert done.returncode == 0, done.stderr
    assert "KDIGO AKI stage 2" in done.stdout
    assert (
        "[Observation/aki-on-ckd-obs-13, Observation/aki-on-ckd-obs-6, calc:aki_stage]"
        in done.stdout
    )
    assert "degraded: no reasoning model configured" in done.stdout
    # progress goes to stderr, a line per finished step, so stdout stays the answer alone
    for step in ("load_record", "route", "labs", "guideline", "synthesize"):
        assert f"✓ {step} (" in done.stderr, done.stderr
    assert "✓" not in done.stdout


def test_a_traditional_chinese_question_gets_a_chinese_frame_in_the_cli(tmp_path: Path) -> None:
    done = wardround(tmp_path, "ask", "--patient", "aki-on-ckd", "--no-model", "為什麼肌酸酐上升？")
    assert done.returncode == 0, done.stderr
    assert "引用來源" in done.stdout
    assert "Citations" not in done.stdout
    assert "立即處理" in done.stdout


def test_ask_json_prints_no_progress(tmp_path: Path) -> None:
    done = wardround(tmp_path, "ask", "--patient", "aki-on-ckd", "--no-model", "--json", "Why?")
    assert done.returncode == 0, done.stderr
    assert "✓" not in done.stderr
    assert '"schema_version"' in done.stdout


def test_unknown_patient_is_a_clear_error(tmp_path: Path) -> None:
    done = wardround(tmp_path, "ask", "--patient", "nobody", "--no-model", "Why?")
    assert done.returncode == 2
    assert "Record not found: no patient 'nobody'" in done.stderr
    assert "Traceback" not in done.stderr


def test_ask_then_approve_says_where_the_write_was_recorded(tmp_path: Path) -> None:
    import json

    asked = wardround(
        tmp_path, "ask", "--patient", "penicillin-allergy-betalactam", "--no-model", "--json", "?"
    )
    assert asked.returncode == 0, asked.stderr
    result = json.loads(asked.stdout)
    [proposal] = result["proposals"]
    approved = wardround(
        tmp_path, "approve", "--thread", result["thread_id"], "--proposal", proposal["id"],
        "--decision", "approve", "--approver", "dr-lin", "--ward", "7A",
        "--comment", "allergy reviewed",
    )  # fmt: skip
    assert approved.returncode == 0, approved.stderr
    assert f"{proposal['id']}: approve by dr-lin (sha256:" in approved.stdout
    assert "recorded as file:outbox.jsonl" in approved.stdout
    [written] = (tmp_path / "outbox.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(written)["proposal"]["id"] == proposal["id"]


def test_approve_decides_every_proposal_of_a_round_at_once(tmp_path: Path) -> None:
    """Two drafted orders (the shipped patient's, and a copy): one round, two proposals."""
    import json

    from core.settings import SHIPPED_DATA

    bundle = json.loads(
        (SHIPPED_DATA / "patients" / "penicillin-allergy-betalactam.json").read_text()
    )
    orders = [e for e in bundle["entry"] if e["resource"]["resourceType"] == "MedicationRequest"]
    draft = next(e for e in orders if e["resource"]["status"] == "draft")
    second = json.loads(json.dumps(draft))
    second["resource"]["id"] += "-copy"
    second.pop("fullUrl", None)
    bundle["entry"].append(second)
    patients = tmp_path / "patients"
    patients.mkdir()
    (patients / "penicillin-allergy-betalactam.json").write_text(json.dumps(bundle))
    env = {"WARDROUND_PATIENTS_DIR": str(patients)}

    asked = wardround(tmp_path, "ask", "--patient", "penicillin-allergy-betalactam", "--no-model",
                      "--json", "?", env=env)  # fmt: skip
    assert asked.returncode == 0, asked.stderr
    result = json.loads(asked.stdout)
    first, *others = (p["id"] for p in result["proposals"])
    assert others, "each drafted order is a proposal"
    who = ("--thread", result["thread_id"], "--approver", "dr-lin", "--ward", "7A")

    partly = wardround(tmp_path, "approve", *who, "--reject", first, env=env)
    assert partly.returncode == 2
    assert "decide every pending proposal" in partly.stderr
    assert all(pid in partly.stderr.replace("\n", "") for pid in others)

    decided = wardround(tmp_path, "approve", *who, "--reject", first, "--all", "approve", env=env)
    assert decided.returncode == 0, decided.stderr
    assert f"{first}: reject by dr-lin" in decided.stdout
    for pid in others:
        assert f"{pid}: approve by dr-lin" in decided.stdout
    written = (tmp_path / "outbox.jsonl").read_text(encoding="utf-8").splitlines()
    assert sorted(json.loads(w)["proposal"]["id"] for w in written) == sorted(others)


THIRD_PARTY = Path(__file__).parent / "data" / "fhir-external"
QUESTION = "What should the ward pharmacist flag on this patient's medicines today?"


def test_a_first_ask_in_a_fresh_data_dir_loads_the_kg_and_checks_interactions(
    tmp_path: Path,
) -> None:
    """A new user's first `ask` on a third-party bundle: the KG is loaded first (said on stderr),
    so the interactions fire and the round is not degraded for want of it; the next ask finds
    it current and does not load it again."""
    import json

    bundle = str(THIRD_PARTY / "synthea21-eura-treutel.json")
    done = wardround(tmp_path, "ask", "--patient", bundle, "--no-model", "--json", QUESTION)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"knowledge graph: none in {tmp_path / 'kg'} yet; loading it" in done.stderr
    assert "-none-" in done.stderr  # WARDROUND_KG_SCOPE by default: the curated facts
    assert " loaded: " in done.stderr
    assert "kg.unavailable" not in done.stderr
    result = json.loads(done.stdout)
    pairs = [set(f["drugs"]) for f in result["findings"] if f["kind"] == "interaction"]
    assert {"digoxin", "verapamil"} in pairs, pairs
    assert {"simvastatin", "verapamil"} in pairs, pairs
    assert not any("knowledge graph" in why for why in result["degraded_reasons"])
    again = wardround(tmp_path, "ask", "--patient", bundle, "--no-model", "--json", QUESTION)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "knowledge graph" not in again.stderr


def test_a_kg_that_cannot_be_loaded_stops_the_round_and_says_how(tmp_path: Path) -> None:
    (tmp_path / "kg").write_text("not a directory", encoding="utf-8")  # where the KG would go
    done = wardround(tmp_path, "ask", "--patient", "aki-on-ckd", "--no-model", "Why?")
    assert done.returncode == 2
    assert "the knowledge graph could not be loaded" in done.stderr
    assert "no round was run" in done.stderr
    assert "wardround kg load" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_serve_in_a_fresh_data_dir_loads_the_kg_before_it_listens(tmp_path: Path) -> None:
    """The server a first-time user starts answers rounds with the KG's checks: it is loaded
    (said on stderr) before /healthz first answers."""
    import socket
    import time

    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "WARDROUND_DATA_DIR": str(tmp_path), "COLUMNS": "200"}
    server = subprocess.Popen(
        [sys.executable, "-c", "from server.cli import main; main()", "serve", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        answered = None
        while answered is None and time.monotonic() < deadline:
            assert server.poll() is None, "wardround serve exited while starting"
            try:
                answered = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            except httpx.HTTPError:
                time.sleep(0.3)
        assert answered is not None, "no /healthz answer in 120 s"
        assert answered.status_code == 200
        assert (tmp_path / "kg" / "ladybug.db").is_file()
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert f"knowledge graph: none in {tmp_path / 'kg'} yet; loading it" in output
    assert " loaded: " in output
    assert "Traceback" not in output
