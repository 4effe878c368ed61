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
