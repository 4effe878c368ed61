"""A deployment's vision model, configured only through settings, reads the patient's images.

Two scripted models speak the real OpenAI protocol over real HTTP on loopback (transcript servers,
as vLLM would): the reasoning model of ``WARDROUND_MODEL_*`` and the vision-language model of
``WARDROUND_VISION_*``. wardround is the runtime ``open_runtime`` builds from ``Settings``, as
``wardround serve`` does; nothing is handed to it but the settings.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from core.audit import EventKind
from core.errors import ConfigurationError
from core.model.replies import Reply
from core.model.transcript_server import TranscriptServer
from core.settings import Settings
from graphs.run import ask
from server.wiring import build_deps, open_runtime

PATIENT = "sepsis-pneumonia"
STUDY = "ImagingStudy/sepsis-pneumonia-img-1"
VLM_NAME = "ward-vlm"


def reasoning_model(body: dict[str, Any]) -> Reply:
    step = body["response_format"]["json_schema"]["name"]
    if step == "router":
        return Reply.json({"specialists": ["imaging"]})
    if step == "synthesizer":
        return Reply.json({"answer": "See the imaging findings.", "claims": []})
    return Reply.json({"summary": f"{step} summary", "key_points": []})


def vision_model(body: dict[str, Any]) -> Reply:
    return Reply.json(
        {
            "summary": "Right lower zone consolidation.",
            "findings": [
                {"region": "lower zone", "laterality": "right", "severity": "moderate",
                 "confidence": 0.7, "description": "consolidation", "image": f"image:{STUDY}#0"},
            ],
        }
    )  # fmt: skip


@pytest.fixture
def models() -> Iterator[tuple[TranscriptServer, TranscriptServer, str, str]]:
    reasoning = TranscriptServer(script=reasoning_model, model_name="ward-llm")
    vision = TranscriptServer(script=vision_model, model_name=VLM_NAME)
    with reasoning.serve() as llm, vision.serve() as vlm:
        yield reasoning, vision, f"{llm.url}/v1", f"{vlm.url}/v1"


async def test_the_configured_vision_model_receives_the_image(
    models: tuple[TranscriptServer, TranscriptServer, str, str], tmp_path: Path
) -> None:
    reasoning, vision, llm_url, vlm_url = models
    settings = Settings(
        data_dir=tmp_path / "data",
        model_base_url=llm_url,
        model_name="ward-llm",
        vision_base_url=vlm_url,
        vision_model_name=VLM_NAME,
    )
    async with open_runtime(settings) as runtime:
        result = await ask(
            runtime.graph,
            patient_id=PATIENT,
            question="What does the chest radiograph show?",
            audit=runtime.audit,
        )
        events = await runtime.audit.events(run_id=result.run_id)
    # the VLM got the rendered radiograph as an image_url part, under its own model name
    [read] = vision.requests
    assert read["model"] == VLM_NAME
    images = [p for p in read["messages"][-1]["content"] if p["type"] == "image_url"]
    assert images
    assert images[0]["image_url"]["url"].startswith("data:image/png;base64,")
    assert all(body["model"] == "ward-llm" for body in reasoning.requests)
    # its finding reached the answer, citing the image it was seen on
    [seen] = [f for f in result.findings if f.kind == "imaging"]
    assert [c.ref for c in seen.citations] == [f"image:{STUDY}#0"]
    assert "no vision model" not in " ".join(result.degraded_reasons).lower()
    # and the call is in the audit trail like every other model call
    called = [e.payload["request"]["model"] for e in events if e.kind == EventKind.MODEL_CALL]
    assert VLM_NAME in called


async def test_a_vision_endpoint_without_a_model_name_is_refused(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, vision_base_url="http://127.0.0.1:9/v1")
    async with AsyncExitStack() as stack:
        with pytest.raises(ConfigurationError, match="WARDROUND_VISION_MODEL_NAME"):
            build_deps(settings, use_kg=False, closing=stack)


async def test_without_vision_settings_there_is_no_vision_model(tmp_path: Path) -> None:
    async with AsyncExitStack() as stack:
        deps = build_deps(Settings(data_dir=tmp_path), use_kg=False, closing=stack)
        assert deps.model is not None
        assert deps.vision is None


async def test_langgraph_studio_gets_the_same_dependencies(
    models: tuple[TranscriptServer, TranscriptServer, str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``langgraph dev`` builds its graph from the environment through the same root."""
    from server.studio import make_graph

    _, vision, llm_url, vlm_url = models
    monkeypatch.setenv("WARDROUND_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("WARDROUND_MODEL_BASE_URL", llm_url)
    monkeypatch.setenv("WARDROUND_VISION_BASE_URL", vlm_url)
    monkeypatch.setenv("WARDROUND_VISION_MODEL_NAME", VLM_NAME)
    async with make_graph() as graph:
        question = {"patient_id": PATIENT, "question": "Is there consolidation?"}
        state = await graph.ainvoke(question)
    assert len(vision.requests) == 1
    assert any(f["kind"] == "imaging" for f in state["findings"])
