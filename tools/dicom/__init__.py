"""DICOM for the imaging agent: find a file, read its metadata, render a frame to PNG.

    from tools.dicom import read_metadata, render_png
    meta = read_metadata("pydicom:data/test_files/CT_small.dcm")
    image = render_png("pydicom-data:data/RG1_UNCR.dcm")   # chest radiograph, MONOCHROME1
    content_part = {"type": "image_url", "image_url": {"url": image.data_url}}

Non-DICOM, corrupt or truncated files, and files over the size limits, raise
``core.errors.InvalidInput``; a missing file raises ``core.errors.RecordNotFound``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field

from core.domain import Frozen
from tools.dicom.metadata import DEFAULT_LIMITS, DicomLimits, DicomMetadata
from tools.dicom.metadata import extract_metadata as _extract_metadata
from tools.dicom.metadata import read_dataset as _read_dataset
from tools.dicom.paths import PACKAGE_PREFIXES, package_dir, resolve_dicom_path
from tools.dicom.render import RenderedImage, render_png


def read_metadata(
    spec: str | Path, *, limits: DicomLimits = DEFAULT_LIMITS, base_dir: Path | None = None
) -> DicomMetadata:
    """Metadata of a DICOM file (a path or ``pydicom:...`` spec) without decoding pixels."""
    path = resolve_dicom_path(spec, base_dir=base_dir)
    ds, notes = _read_dataset(path, limits, defer_pixels=True)
    return _extract_metadata(ds, path, notes)


class DicomFileRequest(Frozen):
    """Read the metadata (modality, body part, laterality, dates, size) of a DICOM file."""

    path: str = Field(
        description="the file as listed on the ImagingStudy (data-dir relative), "
        "or a sample spec such as 'pydicom:data/test_files/CT_small.dcm'"
    )


def tool_schema() -> dict[str, Any]:
    """The OpenAI-style function tool for ``read_metadata``."""
    tool = convert_to_openai_tool(DicomFileRequest)
    tool["function"]["name"] = "dicom_metadata"
    return tool


__all__ = [
    "DEFAULT_LIMITS",
    "PACKAGE_PREFIXES",
    "DicomFileRequest",
    "DicomLimits",
    "DicomMetadata",
    "RenderedImage",
    "package_dir",
    "read_metadata",
    "render_png",
    "resolve_dicom_path",
    "tool_schema",
]
