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


__all__ = [
    "DEFAULT_LIMITS",
    "PACKAGE_PREFIXES",
    "DicomLimits",
    "DicomMetadata",
    "RenderedImage",
    "package_dir",
    "read_metadata",
    "render_png",
    "resolve_dicom_path",
]
