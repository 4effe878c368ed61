"""Reading DICOM safely (size limits, clear errors) and extracting the metadata a reader needs.

The metadata deliberately leaves out patient identifiers (name, ID, birth date): the patient is
known from the FHIR record; the image tool only needs what describes the image.
"""

from __future__ import annotations

import struct
import warnings
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import Field
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.multival import MultiValue

from core.domain import Frozen
from core.errors import InvalidInput

_PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
# pydicom's parser fails in many ways on damaged input; all of them mean "not readable DICOM".
_PARSE_ERRORS = (InvalidDicomError, EOFError, ValueError, KeyError, TypeError, struct.error)


class DicomLimits(Frozen):
    """What the tool refuses to read or decode, so one odd file cannot exhaust memory."""

    max_file_bytes: int = Field(default=64 * 1024 * 1024, gt=0)
    max_frame_pixels: int = Field(default=40_000_000, gt=0, description="rows x columns")
    max_frames: int = Field(default=1000, gt=0)
    max_output_side: int = Field(default=1024, ge=16, le=8192, description="PNG longest side")


DEFAULT_LIMITS = DicomLimits()


class DicomMetadata(Frozen):
    """What describes one DICOM image, without patient identifiers."""

    path: str
    sop_class_uid: str = ""
    modality: str = ""
    body_part: str = ""
    laterality: str = Field(default="", description="(0020,0062) image or (0020,0060) series")
    view_position: str = ""
    study_date: date | None = None
    series_date: date | None = None
    study_description: str = ""
    series_description: str = ""
    rows: int | None = None
    columns: int | None = None
    number_of_frames: int = 1
    pixel_spacing_mm: tuple[float, float] | None = Field(
        default=None, description="(row, column) spacing; PixelSpacing or ImagerPixelSpacing"
    )
    patient_orientation: tuple[str, ...] = ()
    photometric_interpretation: str = ""
    bits_stored: int | None = None
    transfer_syntax: str = ""
    window_center: float | None = None
    window_width: float | None = None
    has_pixel_data: bool = False
    file_bytes: int = 0
    warnings: tuple[str, ...] = ()


def read_dataset(
    path: Path, limits: DicomLimits, *, defer_pixels: bool
) -> tuple[Dataset, list[str]]:
    """dcmread with the size limit, pydicom's warnings collected, parse errors as InvalidInput."""
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        raise InvalidInput(
            f"DICOM file is {size} bytes, over the {limits.max_file_bytes}-byte limit: {path.name}"
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            ds = dcmread(path, defer_size="256 KB" if defer_pixels else None)
        except InvalidDicomError as exc:
            raise InvalidInput(
                f"not a DICOM file (no 'DICM' file meta header): {path.name}"
            ) from exc
        except _PARSE_ERRORS as exc:
            raise InvalidInput(f"corrupt DICOM file {path.name}: {exc}") from exc
    notes = [str(w.message) for w in caught]
    if len(ds) == 0:
        raise InvalidInput(f"DICOM file has a header but no data set (truncated?): {path.name}")
    return ds, notes


def _text(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword)
    return "" if value is None else str(value).strip()


def _first_float(ds: Dataset, keyword: str) -> float | None:
    """The first value of a possibly multi-valued DS element (WindowCenter can hold several)."""
    value: Any = ds.get(keyword)
    if isinstance(value, MultiValue | list | tuple):
        value = value[0] if len(value) else None
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def _date(ds: Dataset, keyword: str, notes: list[str]) -> date | None:
    text = _text(ds, keyword)
    if not text:
        return None
    try:
        return date(int(text[0:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        notes.append(f"{keyword} {text!r} is not a valid DICOM date")
        return None


def _spacing(ds: Dataset, notes: list[str]) -> tuple[float, float] | None:
    for keyword in ("PixelSpacing", "ImagerPixelSpacing"):
        value: Any = ds.get(keyword)
        if value is None:
            continue
        try:
            row, col = float(value[0]), float(value[1])
        except (TypeError, ValueError, IndexError):
            notes.append(f"{keyword} is malformed")
            continue
        if row > 0 and col > 0:
            return (row, col)
        notes.append(f"{keyword} {row:g}\\{col:g} is not a usable spacing")
    return None


def _int(ds: Dataset, keyword: str) -> int | None:
    value: Any = ds.get(keyword)
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def extract_metadata(ds: Dataset, path: Path, notes: list[str]) -> DicomMetadata:
    """Metadata from a read dataset; pydicom's warnings on odd values (raised lazily, as each
    element is first accessed) are collected into ``warnings`` instead of escaping."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        meta = _extract(ds, path, notes)
    extra = [str(w.message) for w in caught]
    if not extra:
        return meta
    return meta.model_copy(update={"warnings": (*meta.warnings, *extra)})


def _extract(ds: Dataset, path: Path, notes: list[str]) -> DicomMetadata:
    has_pixels = any(k in ds for k in _PIXEL_KEYWORDS)
    rows, columns = _int(ds, "Rows"), _int(ds, "Columns")
    if rows and columns and not has_pixels:
        notes.append("declares an image size but has no pixel data: truncated file?")
    meta = getattr(ds, "file_meta", None)
    return DicomMetadata(
        path=str(path),
        sop_class_uid=_text(ds, "SOPClassUID"),
        modality=_text(ds, "Modality"),
        body_part=_text(ds, "BodyPartExamined"),
        laterality=_text(ds, "ImageLaterality") or _text(ds, "Laterality"),
        view_position=_text(ds, "ViewPosition"),
        study_date=_date(ds, "StudyDate", notes),
        series_date=_date(ds, "SeriesDate", notes),
        study_description=_text(ds, "StudyDescription"),
        series_description=_text(ds, "SeriesDescription"),
        rows=rows,
        columns=columns,
        number_of_frames=max(_int(ds, "NumberOfFrames") or 1, 1),
        pixel_spacing_mm=_spacing(ds, notes),
        patient_orientation=tuple(str(v) for v in (ds.get("PatientOrientation") or ())),
        photometric_interpretation=_text(ds, "PhotometricInterpretation"),
        bits_stored=_int(ds, "BitsStored"),
        transfer_syntax=str(meta.get("TransferSyntaxUID", "")) if meta is not None else "",
        window_center=_first_float(ds, "WindowCenter"),
        window_width=_first_float(ds, "WindowWidth"),
        has_pixel_data=has_pixels,
        file_bytes=path.stat().st_size,
        warnings=tuple(notes),
    )
