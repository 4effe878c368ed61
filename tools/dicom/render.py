"""Render one DICOM frame to PNG for a vision-language model.

Greyscale images go through the modality LUT (rescale to e.g. Hounsfield units) and then the VOI
LUT or window the modality stored (DICOM PS3.3 C.11.1, C.11.2), via pydicom; MONOCHROME1 is
inverted so that higher values are darker, as the standard defines it (PS3.3 C.7.6.3.1.2). Colour
images (RGB, YBR converted to RGB, palette colour) are scaled to 8 bits. The longest side is
scaled down to ``max_output_side``, correcting non-square pixel spacing on the way.
"""

from __future__ import annotations

import base64
import io
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image
from pydantic import ConfigDict
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.pixels.processing import apply_color_lut, apply_modality_lut, apply_voi_lut
from pydicom.pixels.utils import pixel_array

from core.domain import Frozen
from core.errors import InvalidInput
from core.logging import get_logger
from tools.dicom.metadata import (
    DEFAULT_LIMITS,
    DicomLimits,
    DicomMetadata,
    extract_metadata,
    read_dataset,
)
from tools.dicom.paths import resolve_dicom_path

log = get_logger(__name__)
_GREY = ("MONOCHROME1", "MONOCHROME2")
_COLOUR = ("RGB", "YBR_FULL", "YBR_FULL_422", "YBR_ICT", "YBR_RCT", "PALETTE COLOR")


class RenderedImage(Frozen):
    """A PNG ready for an ``image_url`` content part, and what it was made from."""

    model_config = ConfigDict(frozen=True, extra="forbid", ser_json_bytes="base64")

    png: bytes
    width: int
    height: int
    frame: int
    display: str
    metadata: DicomMetadata
    warnings: tuple[str, ...] = ()

    @property
    def data_url(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


def _check_limits(meta: DicomMetadata, frame: int, limits: DicomLimits) -> None:
    if not meta.has_pixel_data:
        raise InvalidInput("DICOM file has no pixel data: not an image, or truncated")
    pixels = (meta.rows or 0) * (meta.columns or 0)
    if pixels <= 0:
        raise InvalidInput("DICOM image has no Rows/Columns")
    if pixels > limits.max_frame_pixels:
        raise InvalidInput(
            f"DICOM frame has {pixels} pixels, over the {limits.max_frame_pixels} limit"
        )
    if meta.number_of_frames > limits.max_frames:
        raise InvalidInput(
            f"DICOM file has {meta.number_of_frames} frames, over the {limits.max_frames} limit"
        )
    if not 0 <= frame < meta.number_of_frames:
        raise InvalidInput(f"frame {frame} out of range: the file has {meta.number_of_frames}")


def _decode(ds: Dataset, frame: int, frames: int) -> NDArray[Any]:
    try:
        return pixel_array(ds, index=frame if frames > 1 else None)
    except (ValueError, RuntimeError, NotImplementedError, AttributeError, KeyError) as exc:
        raise InvalidInput(f"cannot decode DICOM pixel data: {exc}") from exc


def _voi_range(ds: Dataset, values: NDArray[Any]) -> tuple[float, float, str]:
    """The display range after the VOI step, and what the step was."""
    lut_items = ds.get("VOILUTSequence")
    if lut_items:
        # PS3.3 C.11.2.1.1: LUT Descriptor's third value is the bit depth of the LUT's output.
        bits = int(lut_items[0].LUTDescriptor[2])
        return 0.0, float(2**bits - 1), "VOI LUT"
    if ds.get("WindowCenter") is not None and ds.get("WindowWidth") is not None:
        # Push the extremes through the same window: its output bounds are the display range.
        probe = apply_voi_lut(np.array([-1e12, 1e12], dtype=np.float64), ds, index=0)
        window = f"window {_first(ds.WindowCenter)}/{_first(ds.WindowWidth)}"
        return float(probe.min()), float(probe.max()), window
    return float(values.min()), float(values.max()), "full range (no window stored)"


def _first(value: Any) -> str:
    return f"{float(value[0] if isinstance(value, MultiValue) else value):g}"


def _grey_to_uint8(ds: Dataset, raw: NDArray[Any]) -> tuple[NDArray[np.uint8], str]:
    values = apply_modality_lut(raw, ds)
    low, high, what = _voi_range(ds, values)
    values = apply_voi_lut(values, ds, index=0)
    scaled = (np.asarray(values, dtype=np.float64) - low) / max(high - low, 1e-9)
    grey = np.clip(np.round(scaled * 255.0), 0, 255).astype(np.uint8)
    if str(ds.get("PhotometricInterpretation", "")).strip() == "MONOCHROME1":
        grey = 255 - grey
        what += ", MONOCHROME1 inverted"
    return grey, what


def _colour_to_uint8(ds: Dataset, raw: NDArray[Any]) -> tuple[NDArray[np.uint8], str]:
    photometric = str(ds.PhotometricInterpretation).strip()
    rgb = apply_color_lut(raw, ds) if photometric == "PALETTE COLOR" else raw
    if rgb.dtype == np.uint8:
        return rgb, f"{photometric} as RGB"
    bits = 16 if photometric == "PALETTE COLOR" else int(ds.get("BitsStored", 8))
    scaled = np.asarray(rgb, dtype=np.float64) / float(2**bits - 1) * 255.0
    return np.clip(np.round(scaled), 0, 255).astype(np.uint8), f"{photometric} as RGB"


def _display_pixels(
    ds: Dataset, meta: DicomMetadata, frame: int
) -> tuple[NDArray[np.uint8], str, tuple[str, ...]]:
    """Decode one frame and map it to 8-bit display values; pydicom's warnings collected."""
    photometric = meta.photometric_interpretation
    if photometric not in _GREY + _COLOUR:
        raise InvalidInput(f"unsupported photometric interpretation {photometric!r}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        raw = _decode(ds, frame, meta.number_of_frames)
        if photometric in _GREY:
            pixels, display = _grey_to_uint8(ds, raw)
        else:
            pixels, display = _colour_to_uint8(ds, raw)
    return pixels, display, tuple(dict.fromkeys(str(w.message) for w in caught))


def _output_size(meta: DicomMetadata, width: int, height: int, max_side: int) -> tuple[int, int]:
    """Fit within max_side, stretching columns when pixels are not square (row != col spacing)."""
    w, h = float(width), float(height)
    if meta.pixel_spacing_mm is not None:
        row_mm, col_mm = meta.pixel_spacing_mm
        if abs(row_mm - col_mm) / max(row_mm, col_mm) > 0.01:
            w *= col_mm / row_mm
    scale = min(1.0, max_side / max(w, h))
    return max(1, round(w * scale)), max(1, round(h * scale))


def _to_png(pixels: NDArray[np.uint8], size: tuple[int, int]) -> bytes:
    image = Image.fromarray(np.ascontiguousarray(pixels))  # uint8: 2-D -> "L", HxWx3 -> "RGB"
    if image.size != size:
        image = image.resize(size, Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def render_png(
    spec: str | Path,
    *,
    frame: int = 0,
    limits: DicomLimits = DEFAULT_LIMITS,
    base_dir: Path | None = None,
) -> RenderedImage:
    """Render one frame of a DICOM file (a path or ``pydicom:...`` spec) to PNG."""
    started = time.perf_counter()
    path = resolve_dicom_path(spec, base_dir=base_dir)
    ds, notes = read_dataset(path, limits, defer_pixels=False)
    meta = extract_metadata(ds, path, notes)
    _check_limits(meta, frame, limits)
    pixels, display, decode_notes = _display_pixels(ds, meta, frame)
    height, width = pixels.shape[:2]
    size = _output_size(meta, width, height, limits.max_output_side)
    png = _to_png(pixels, size)
    log.info(
        "dicom.rendered",
        modality=meta.modality,
        source_size=[width, height],
        output_size=list(size),
        png_bytes=len(png),
        ms=round((time.perf_counter() - started) * 1000),
    )
    return RenderedImage(
        png=png,
        width=size[0],
        height=size[1],
        frame=frame,
        display=display,
        metadata=meta,
        warnings=decode_notes,
    )
