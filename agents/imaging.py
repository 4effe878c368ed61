"""Imaging: DICOM rendered to PNG and read by a vision-language model, when one is configured.

No vision model ships in any package; without one this specialist says so plainly and never
invents findings. It still reports each study's DICOM metadata.
"""

from __future__ import annotations

from agents.common import SpecialistTask, record_of
from agents.deps import WardRoundDeps
from agents.report import SpecialistReport
from agents.specialist import Explained, Gathered, SpecialistSteps, run_specialist

NAME = "imaging"
NO_VISION = "No vision model is configured: the images were not interpreted."


async def gather(deps: WardRoundDeps, task: SpecialistTask) -> Gathered:
    """Which studies there are, and whether a vision model can read them.

    The images are rendered in the model step, not here: a checkpoint would otherwise carry them.
    """
    record = record_of(task)
    if not record.imaging:
        return Gathered(findings=[], summary="No imaging studies.", ask_model=False)
    studies = ", ".join(f"{s.modality} {s.description} [{s.ref}]".strip() for s in record.imaging)
    if deps.vision is None:
        summary = f"{NO_VISION} Studies on record: {studies}."
        return Gathered(findings=[], summary=summary, ask_model=False)
    return Gathered(findings=[], summary=f"Studies on record: {studies}.")


async def explain(deps: WardRoundDeps, task: SpecialistTask, got: Gathered) -> Explained:
    from agents.vision import read_studies

    return await read_studies(deps, record_of(task), task)


STEPS = SpecialistSteps(NAME, gather, explain)


async def imaging_specialist(deps: WardRoundDeps, task: SpecialistTask) -> SpecialistReport:
    return await run_specialist(STEPS, deps, task)
