"""LangGraph Studio / ``langgraph dev`` (the ``studio`` extra) loads the shipped graph for real.

``langgraph dev`` runs as a subprocess on a loopback port, from a scratch directory (it keeps its
in-memory runtime's files in the working directory), with the shipped ``langgraph.json``'s graph
entry made absolute. The assistant's input schema must be the round's narrow input (a
``typing.TypedDict`` on Python 3.11 gave none), and a round run through LangGraph's own API ends
with the rule findings when no model answers.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
LANGGRAPH = Path(sys.executable).parent / "langgraph"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(tmp_path: Path) -> Path:
    shipped = json.loads((ROOT / "langgraph.json").read_text())
    graphs = {name: str(ROOT / spec.lstrip("./")) for name, spec in shipped["graphs"].items()}
    config = tmp_path / "langgraph.json"
    config.write_text(json.dumps({"dependencies": [str(ROOT)], "graphs": graphs}))
    return config


@pytest.fixture
def studio(tmp_path: Path) -> Iterator[str]:
    if not LANGGRAPH.exists():
        pytest.fail("langgraph-cli is not installed: pip install -e '.[studio]'", pytrace=False)
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "WARDROUND_DATA_DIR": str(tmp_path / "data"),
        "WARDROUND_MODEL_BASE_URL": f"http://127.0.0.1:{_free_port()}/v1",  # nothing listens
        "WARDROUND_MODEL_MAX_RETRIES": "0",
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
    }
    args = ["dev", "--config", str(_config(tmp_path)), "--port", str(port)]
    proc = subprocess.Popen(
        [str(LANGGRAPH), *args, "--no-browser", "--no-reload"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert proc.poll() is None, "langgraph dev exited at start-up"
            try:
                if httpx.get(f"{base}/ok", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        else:
            pytest.fail("langgraph dev did not start within 60 s")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(tmp_path / ".langgraph_api", ignore_errors=True)


def test_the_shipped_langgraph_json_names_the_studio_entry_point() -> None:
    shipped = json.loads((ROOT / "langgraph.json").read_text())
    assert shipped["graphs"] == {"ward_round": "./server/studio.py:make_graph"}


def test_studio_shows_the_rounds_input_schema_and_runs_a_round(studio: str) -> None:
    with httpx.Client(base_url=studio, timeout=60) as client:
        (assistant,) = client.post("/assistants/search", json={}).json()
        assert assistant["graph_id"] == "ward_round"
        schema = client.get(f"/assistants/{assistant['assistant_id']}/schemas").json()
        inputs = schema["input_schema"]
        assert inputs is not None, "no input schema: the state's TypedDicts are not pydantic-able"
        assert set(inputs["required"]) == {"patient_id", "question"}
        assert "turns" in inputs["properties"]

        question = {"patient_id": "aki-on-ckd", "question": "Why is the creatinine rising?"}
        body = {"assistant_id": "ward_round", "input": question}
        state = client.post("/runs/wait", json=body).json()
    assert state["record"]["patient"]["id"] == "aki-on-ckd"
    kinds = {f["kind"] for f in state["findings"]}
    assert "aki_stage" in kinds  # the rule findings reach Studio with the model down
    assert state["degraded_reasons"], "no model answered: the round must say it degraded"


PAUSING = "penicillin-allergy-betalactam"  # ward 7A: a drafted co-amoxiclav order pauses the round
ORDER = "MedicationRequest/penicillin-allergy-betalactam-medreq-1"


def test_langgraphs_api_takes_no_decision_and_keeps_a_pause_through_a_new_question(
    studio: str, tmp_path: Path
) -> None:
    """LangGraph's API carries no wardround sign-in: a resume there is refused with where to
    decide, nothing is written, and the proposal waits, also through a new question."""
    with httpx.Client(base_url=studio, timeout=120) as client:
        thread = client.post("/threads", json={}).json()["thread_id"]
        runs = f"/threads/{thread}/runs/wait"
        question = {"patient_id": PAUSING, "question": "Can we give the co-amoxiclav?"}
        client.post(runs, json={"assistant_id": "ward_round", "input": question})
        paused = client.get(f"/threads/{thread}/state").json()
        assert paused["next"] == ["approve"]
        assert [p["id"] for p in paused["values"]["proposals"]] == [f"activate:{ORDER}"]

        anyone = {"id": "mallory", "role": "clinician", "wards": ["7A"]}
        decision = {"proposal_id": f"activate:{ORDER}", "decision": "approve"}
        resume = {"resume": {"approver": anyone, "decisions": [decision]}}
        client.post(runs, json={"assistant_id": "ward_round", "command": resume})
        refused = client.get(f"/threads/{thread}/state").json()
        failure = refused["values"]["approval_failure"]
        assert failure["title"] == "Decide on wardround's API"
        assert "POST /v1/threads/{id}/approvals" in failure["message"]
        assert refused["next"] == ["approve"]  # still waiting
        assert refused["values"]["decisions"] == []
        assert not (tmp_path / "data" / "outbox.jsonl").exists()  # nothing was written

        again = {"patient_id": PAUSING, "question": "What else is on the chart?"}
        client.post(runs, json={"assistant_id": "ward_round", "input": again})
        kept = client.get(f"/threads/{thread}/state").json()
    assert kept["next"] == ["approve"]
    assert [p["id"] for p in kept["values"]["proposals"]] == [f"activate:{ORDER}"]
    assert len(kept["values"]["turns"]) == 2
