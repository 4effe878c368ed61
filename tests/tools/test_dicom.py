"""DICOM: path specs, metadata, PNG rendering with VOI/windowing, limits and bad files.

Samples are read by path from the installed pydicom and pydicom-data packages; pydicom's
get_testdata_file(s) (which try to download) are never called.
"""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import numpy as np
import pydicom
import pydicom.data
import pytest
from PIL import Image
from structlog.testing import capture_logs

from core.errors import InvalidInput, RecordNotFound
from tools.dicom import (
    DicomFileRequest,
    DicomLimits,
    DicomMetadata,
    read_metadata,
    render_png,
    resolve_dicom_path,
    tool_schema,
)
from tools.dicom.render import _output_size

CT = "pydicom:data/test_files/CT_small.dcm"
MR = "pydicom:data/test_files/MR_small.dcm"
CHEST_CR = "pydicom-data:data/RG1_UNCR.dcm"  # computed radiograph of a chest, MONOCHROME1
MULTIFRAME_MR = "pydicom-data:data/emri_small.dcm"  # 10 frames
YBR_US = "pydicom:data/test_files/examples_ybr_color.dcm"
PALETTE_US = "pydicom:data/test_files/examples_palette.dcm"
MR_TRUNCATED = "pydicom:data/test_files/MR_truncated.dcm"
NO_META = "pydicom:data/test_files/no_meta.dcm"
BAD_VR = "pydicom:data/test_files/badVR.dcm"


@pytest.fixture(autouse=True)
def _no_download(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail loudly if anything reaches for pydicom's downloading sample helpers."""

    def forbidden(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("get_testdata_file(s) must not be called")

    monkeypatch.setattr(pydicom.data, "get_testdata_file", forbidden)
    monkeypatch.setattr(pydicom.data, "get_testdata_files", forbidden)


def png_image(png: bytes) -> Image.Image:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


# --- paths -----------------------------------------------------------------------------------


def test_package_spec_resolves_into_the_package() -> None:
    path = resolve_dicom_path(CT)
    assert path.name == "CT_small.dcm"
    assert path.is_relative_to(Path(pydicom.__file__).parent)
    assert resolve_dicom_path(CHEST_CR).name == "RG1_UNCR.dcm"


@pytest.mark.parametrize(
    ("spec", "error", "message"),
    [
        ("pydicom:../../../../etc/passwd", InvalidInput, "escapes the pydicom package"),
        ("pydicum:data/test_files/CT_small.dcm", InvalidInput, "unknown DICOM package prefix"),
        ("pydicom:data/test_files/nope.dcm", RecordNotFound, "not found"),
        ("/nonexistent/file.dcm", RecordNotFound, "not found"),
    ],
)
def test_bad_specs(spec: str, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        resolve_dicom_path(spec)


def test_relative_path_stays_in_the_data_dir(tmp_path: Path) -> None:
    (tmp_path / "imaging").mkdir()
    target = tmp_path / "imaging" / "ct.dcm"
    target.write_bytes(resolve_dicom_path(CT).read_bytes())
    assert resolve_dicom_path("imaging/ct.dcm", base_dir=tmp_path) == target
    assert read_metadata("imaging/ct.dcm", base_dir=tmp_path).modality == "CT"
    with pytest.raises(InvalidInput, match="escapes the data directory"):
        resolve_dicom_path("../outside.dcm", base_dir=tmp_path)


# --- metadata --------------------------------------------------------------------------------


def test_ct_metadata() -> None:
    meta = read_metadata(CT)
    assert meta.modality == "CT"
    assert (meta.rows, meta.columns, meta.number_of_frames) == (128, 128, 1)
    assert meta.pixel_spacing_mm == pytest.approx((0.661468, 0.661468))
    assert meta.study_date == date(2004, 1, 19)
    assert meta.photometric_interpretation == "MONOCHROME2"
    assert meta.transfer_syntax == "1.2.840.10008.1.2.1"
    assert meta.has_pixel_data
    assert meta.warnings == ()


def test_chest_radiograph_metadata() -> None:
    meta = read_metadata(CHEST_CR)
    assert (meta.modality, meta.body_part, meta.view_position) == ("CR", "CHEST", "PA")
    assert meta.photometric_interpretation == "MONOCHROME1"
    assert meta.patient_orientation == ("L", "F")
    assert (meta.rows, meta.columns) == (1955, 1841)
    assert (meta.window_center, meta.window_width) == (15000.0, 30000.0)
    assert meta.pixel_spacing_mm is None  # stored as 0\0: reported, not used
    assert any("not a usable spacing" in w for w in meta.warnings)


def test_metadata_carries_no_patient_identifiers() -> None:
    dumped = read_metadata(CT).model_dump()
    assert not {"patient_name", "patient_id", "birth_date"} & set(dumped)
    assert str(pydicom.dcmread(resolve_dicom_path(CT)).PatientName) not in str(dumped)


def test_multiframe_metadata() -> None:
    meta = read_metadata(MULTIFRAME_MR)
    assert (meta.modality, meta.body_part, meta.number_of_frames) == ("MR", "HEAD", 10)


def test_pydicom_warnings_are_collected_not_raised() -> None:
    meta = read_metadata(BAD_VR)  # pytest turns warnings into errors: none may escape
    assert any("Invalid value for VR IS" in w for w in meta.warnings)


# --- rendering -------------------------------------------------------------------------------


def test_render_ct() -> None:
    image = render_png(CT)
    assert (image.width, image.height, image.frame) == (128, 128, 0)
    assert image.data_url.startswith("data:image/png;base64,iVBORw0KGgo")
    decoded = png_image(image.png)
    assert (decoded.size, decoded.mode) == ((128, 128), "L")
    assert image.metadata.modality == "CT"


def test_render_uses_the_stored_window() -> None:
    image = render_png(MR)
    assert image.display == "window 600/1600"
    rendered = np.asarray(png_image(image.png)).astype(float)
    raw = pydicom.dcmread(resolve_dicom_path(MR)).pixel_array.astype(float)
    # DICOM PS3.3 C.11.2.1.2.1, LINEAR: ((x - (c - 0.5)) / (w - 1) + 0.5), clipped to [0, 1]
    center, width = 600.0, 1600.0
    expected = np.clip((raw - (center - 0.5)) / (width - 1) + 0.5, 0, 1) * 255
    assert np.abs(rendered - expected).max() <= 1.0


def test_chest_radiograph_is_scaled_and_monochrome1_inverted() -> None:
    image = render_png(CHEST_CR)
    assert max(image.width, image.height) == 1024
    assert (image.width, image.height) == (964, 1024)  # 1841 x 1955 scaled, aspect kept
    assert "MONOCHROME1 inverted" in image.display

    full = render_png(CHEST_CR, limits=DicomLimits(max_output_side=2048))
    rendered = np.asarray(png_image(full.png)).astype(int)
    raw = pydicom.dcmread(resolve_dicom_path(CHEST_CR)).pixel_array
    # MONOCHROME1: the highest stored value is displayed darkest, the lowest brightest
    darkest = rendered[np.unravel_index(raw.argmax(), raw.shape)]
    brightest = rendered[np.unravel_index(raw.argmin(), raw.shape)]
    assert darkest <= 32
    assert brightest >= 224


def test_monochrome2_is_not_inverted() -> None:
    rendered = np.asarray(png_image(render_png(CT).png)).astype(int)
    raw = pydicom.dcmread(resolve_dicom_path(CT)).pixel_array
    assert rendered[np.unravel_index(raw.argmax(), raw.shape)] == 255
    assert rendered[np.unravel_index(raw.argmin(), raw.shape)] == 0


def test_multiframe_renders_the_chosen_frame() -> None:
    third = render_png(MULTIFRAME_MR, frame=3)
    assert (third.frame, third.width, third.height) == (3, 64, 64)
    assert third.png != render_png(MULTIFRAME_MR, frame=0).png
    with pytest.raises(InvalidInput, match="frame 10 out of range"):
        render_png(MULTIFRAME_MR, frame=10)


@pytest.mark.parametrize("spec", [YBR_US, PALETTE_US])
def test_colour_images_render_as_rgb(spec: str) -> None:
    decoded = png_image(render_png(spec).png)
    assert decoded.mode == "RGB"


def test_render_logs_without_the_path() -> None:
    with capture_logs() as logs:
        render_png(CT)
    event = next(e for e in logs if e["event"] == "dicom.rendered")
    assert event["modality"] == "CT"
    assert "path" not in event


def test_output_size_corrects_non_square_pixels() -> None:
    meta = DicomMetadata(path="x", pixel_spacing_mm=(1.0, 0.5))
    assert _output_size(meta, 200, 100, 1024) == (100, 100)  # columns half as wide
    assert _output_size(DicomMetadata(path="x"), 4000, 2000, 1000) == (1000, 500)


# --- limits and bad files --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "limits", "message"),
    [
        (CT, DicomLimits(max_file_bytes=10_000), "over the 10000-byte limit"),
        (CHEST_CR, DicomLimits(max_frame_pixels=1_000_000), "over the 1000000 limit"),
        (MULTIFRAME_MR, DicomLimits(max_frames=5), "10 frames, over the 5 limit"),
    ],
)
def test_limits(spec: str, limits: DicomLimits, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        render_png(spec, limits=limits)


def test_text_file_is_not_dicom(tmp_path: Path) -> None:
    text = tmp_path / "report.dcm"
    text.write_text("Chest X-ray: no consolidation.\n")
    with pytest.raises(InvalidInput, match="not a DICOM file"):
        read_metadata(text)
    with pytest.raises(InvalidInput, match="not a DICOM file"):
        render_png(text)


def test_file_without_preamble_is_rejected() -> None:
    with pytest.raises(InvalidInput, match="not a DICOM file"):
        read_metadata(NO_META)


def test_shipped_truncated_pixel_data() -> None:
    assert read_metadata(MR_TRUNCATED).modality == "MR"  # the header is intact
    with pytest.raises(InvalidInput, match="cannot decode DICOM pixel data"):
        render_png(MR_TRUNCATED)


@pytest.mark.parametrize(
    ("keep_bytes", "message"),
    [
        (100, "not a DICOM file"),  # cut inside the file meta header
        (200, "no data set"),  # the meta header and nothing else
        (2000, "no pixel data"),  # the header, cut before the pixels
        (30000, "cannot decode"),  # the pixels cut short
    ],
)
def test_truncated_copies(tmp_path: Path, keep_bytes: int, message: str) -> None:
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(resolve_dicom_path(CT).read_bytes()[:keep_bytes])
    with pytest.raises(InvalidInput, match=message):
        render_png(cut)


def test_truncated_header_is_flagged_in_metadata(tmp_path: Path) -> None:
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(resolve_dicom_path(CT).read_bytes()[:5000])
    meta = read_metadata(cut)
    assert not meta.has_pixel_data
    assert any("truncated" in w for w in meta.warnings)


def test_tool_schema_for_the_model() -> None:
    tool = tool_schema()
    assert tool["function"]["name"] == "dicom_metadata"
    assert tool["function"]["parameters"]["required"] == ["path"]
    request = DicomFileRequest(path=CT)
    assert read_metadata(request.path).modality == "CT"
