"""Imaging: DICOM rendered to PNG and read by a vision-language model, when one is configured.

No vision model ships in any package; without one this specialist says so plainly and never
invents findings. It still reports each study's DICOM metadata.
"""

from __future__ import annotations

import time
from typing import Any

from agents.common import finish, record_of
from agents.consult import Consultation
from agents.deps import WardRoundDeps
from agents.report import SpecialistReport

NAME = "imaging"
NO_VISION = "No vision model is configured: the images were not interpreted."


async def imaging_specialist(deps: WardRoundDeps, task: dict[str, Any]) -> SpecialistReport:
    started = time.monotonic()
    record = record_of(task)
    if not record.imaging:
        return finish(
            NAME, started, [], Consultation(None, None), fallback_summary="No imaging studies."
        )
    studies = ", ".join(f"{s.modality} {s.description} [{s.ref}]".strip() for s in record.imaging)
    if deps.vision is None:
        return finish(
            NAME,
            started,
            [],
            Consultation(None, None),
            fallback_summary=f"{NO_VISION} Studies on record: {studies}.",
        )
    from agents.vision import read_studies

    return await read_studies(deps, record, task, started)
