"""Imaging: DICOM sent as image_url parts; without a vision model, no invented findings."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest

from agents.context import patient_context
from agents.imaging import NO_VISION, imaging_specialist
from core.model.replies import Reply
from core.settings import SHIPPED_DATA
from tools.fhir.sources import DirectoryPatientSource

NOW = datetime(2025, 12, 2, tzinfo=UTC)
STUDY = "ImagingStudy/sepsis-pneumonia-img-1"


@pytest.fixture
async def task() -> dict[str, Any]:
    record = await DirectoryPatientSource(SHIPPED_DATA / "patients").load("sepsis-pneumonia")
    return {
        "record": record.model_dump(mode="json"),
        "context": patient_context(record, NOW),
        "question": "What does the chest radiograph show?",
        "language": "en",
        "deadline_at": time.time() + 60,
    }


def vlm(body: dict[str, Any]) -> Reply:
    parts = body["messages"][-1]["content"]
    images = [p for p in parts if p["type"] == "image_url"]
    assert images, "the image must travel as an image_url content part"
    assert images[0]["image_url"]["url"].startswith("data:image/png;base64,")
    return Reply.json(
        {
            "summary": "Right lower zone consolidation.",
            "findings": [
                {"region": "lower zone", "laterality": "right", "severity": "moderate",
                 "confidence": 0.7, "description": "consolidation", "image": f"image:{STUDY}#0"},
                {"region": "apex", "laterality": "left", "severity": "low",
                 "confidence": 0.2, "description": "nodule", "image": "image:ImagingStudy/other#3"},
            ],
        }
    )  # fmt: skip


async def test_no_vision_model_says_so_and_invents_nothing(task, round_deps) -> None:
    deps = round_deps(patients=DirectoryPatientSource())
    report = await imaging_specialist(deps, task)
    assert report.findings == []
    assert report.summary.startswith(NO_VISION)
    assert STUDY in report.summary


async def test_vision_model_reads_the_rendered_radiograph(task, scripted_model, round_deps) -> None:
    server, vision = scripted_model(vlm)
    deps = round_deps(patients=DirectoryPatientSource(), vision=vision)
    report = await imaging_specialist(deps, task)
    assert len(server.requests) == 1
    right, ghost = report.findings
    assert right.origin == "model"
    assert [c.ref for c in right.citations] == [f"image:{STUDY}#0"]
    assert "right" in right.summary
    assert ghost.citations == ()  # an image id that was never sent cannot be cited
    assert "CR" in report.summary  # DICOM metadata is reported whatever the model says
