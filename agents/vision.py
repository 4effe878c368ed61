"""The imaging specialist's vision path: DICOM → PNG → a vision-language model.

Each study's images are rendered with their VOI LUT/window (``tools.dicom``) and sent as
``image_url`` content parts through the same OpenAI-compatible client. The model returns
structured findings (region, laterality, severity, confidence); each cites its image id
(``image:ImagingStudy/x#0``). DICOM metadata is reported whatever the model says.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any, Literal

from pydantic import BaseModel, Field

from agents.common import SpecialistTask
from agents.consult import LANGUAGE_NAMES, consult_structured
from agents.deps import WardRoundDeps
from agents.report import KeyPoint, ModelNote
from agents.specialist import Explained
from core.domain import Citation, Finding, PatientRecord, Severity
from core.errors import InvalidInput, RecordNotFound
from tools.dicom import read_metadata, render_png

NAME = "imaging"
MAX_IMAGES = 2
INSTRUCTIONS = (
    "Role: imaging reader. Describe the abnormal findings visible in the attached images: "
    "region, laterality, severity and your confidence. Report only what is visible; if the "
    "image is not interpretable, say so and return no findings."
)


class ImagingFinding(BaseModel):
    region: str
    laterality: Literal["left", "right", "bilateral", "none"] = "none"
    severity: Literal["low", "moderate", "high"] = "low"
    confidence: float = Field(ge=0, le=1)
    description: str
    image: str = Field(description="the image id it is seen on, e.g. image:ImagingStudy/x#0")


class ImagingRead(BaseModel):
    summary: str
    findings: list[ImagingFinding] = Field(default_factory=list, max_length=8)


def _images(
    record: PatientRecord, deps: WardRoundDeps
) -> tuple[list[dict[str, Any]], list[str], set[str]]:
    """(content parts for the model, one line of metadata per image, ids of images sent)."""
    parts: list[dict[str, Any]] = []
    described: list[str] = []
    sent: set[str] = set()
    for study in record.imaging:
        for i, path in enumerate(study.dicom_files[:MAX_IMAGES]):
            image_id = f"image:{study.ref}#{i}"
            try:
                meta = read_metadata(path, base_dir=deps.data_dir)
                png = render_png(path, base_dir=deps.data_dir)
            except (InvalidInput, RecordNotFound) as err:
                described.append(f"{image_id}: unreadable ({err})")
                continue
            described.append(
                f"{image_id}: {meta.modality} {meta.body_part} {meta.view_position} "
                f"{meta.laterality} {meta.rows}x{meta.columns} {meta.study_date or ''}".strip()
            )
            sent.add(image_id)
            parts.append({"type": "text", "text": f"Image {image_id}:"})
            parts.append({"type": "image_url", "image_url": {"url": png.data_url}})
    return parts, described, sent


def _finding(item: ImagingFinding, known: set[str]) -> Finding:
    cites = (Citation(kind="image", ref=item.image),) if item.image in known else ()
    side = "" if item.laterality == "none" else f" ({item.laterality})"
    return Finding(
        id=f"imaging:{item.image}:{item.region}",
        kind="imaging",
        severity=Severity(item.severity),
        summary=f"{item.region}{side}: {item.description} (confidence {item.confidence:.2f})",
        citations=cites,
        source="vision-language model reading",
        origin="model",
        specialist=NAME,
    )


async def read_studies(
    deps: WardRoundDeps, record: PatientRecord, task: SpecialistTask
) -> Explained:
    """Render each study (DICOM → PNG) and ask the vision model for structured findings."""
    parts, described, sent = await asyncio.to_thread(_images, record, deps)
    metadata = "DICOM metadata:\n" + "\n".join(f"- {d}" for d in described)
    if not parts:
        return Explained(note=None, degraded_reason=None, summary=metadata)
    lang = LANGUAGE_NAMES.get(task["language"], "English")
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": task["context"]},
        {"role": "system", "content": f"{INSTRUCTIONS}\nWrite in {lang}."},
        {
            "role": "user",
            "content": [{"type": "text", "text": f"{metadata}\n\n{task['question']}"}, *parts],
        },
    ]
    # the reply cap is for the small reasoning model; the VLM's findings are short by schema
    vision_deps = dataclasses.replace(deps, model=deps.vision, max_output_tokens=None)
    read = await consult_structured(
        vision_deps, messages, ImagingRead, name=NAME, deadline_at=task["deadline_at"]
    )
    if read.value is None:
        return Explained(note=None, degraded_reason=read.degraded_reason, summary=metadata)
    findings = [_finding(f, sent) for f in read.value.findings]
    note = ModelNote(
        summary=f"{read.value.summary}\n{metadata}",
        key_points=[
            KeyPoint(text=f.summary, citations=[c.ref for c in f.citations]) for f in findings
        ],
    )
    return Explained(note=note, degraded_reason=None, findings=findings, summary=metadata)
