"""Where an ImagingStudy's DICOM files are: the locator convention and its resolution.

FHIR's ImagingStudy names instances by UID and expects a DICOMweb ``endpoint``; wardround runs on a
ward machine with sample files, so each ``series.instance`` carries an extension

    {"url": "https://wardround.dev/fhir/StructureDefinition/dicom-file",
     "valueString": "pydicom:data/test_files/CT_small.dcm"}

whose value is a *locator*:

- ``<python package>:<path inside it>``, e.g. ``pydicom:data/test_files/CT_small.dcm`` or
  ``data_store:data/RG1_UNCR.dcm`` (the ``pydicom-data`` package), resolved through the package's
  install location (never pydicom's ``get_testdata_file``, which may download);
- or a path relative to the data dir (``dicom/cxr-1.dcm``).

Absolute paths and ``..`` are refused: a bundle from a FHIR server must not name arbitrary files on
the machine that reads it.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path, PurePosixPath

DICOM_FILE_EXTENSION = "https://wardround.dev/fhir/StructureDefinition/dicom-file"

_PACKAGE_LOCATOR = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*):(.+)$")


class LocatorError(ValueError):
    """The locator is malformed or names a file that is not there."""


def _safe_relative(path: str) -> PurePosixPath:
    rel = PurePosixPath(path)
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        raise LocatorError(f"refusing locator path {path!r}: must be relative, without '..'")
    return rel


def _package_root(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise LocatorError(f"package {package!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def resolve_locator(locator: str, data_dir: Path) -> Path:
    """The file a locator names; raises :class:`LocatorError` when it cannot be found."""
    m = _PACKAGE_LOCATOR.match(locator)
    if m:
        root, rel = _package_root(m.group(1)), _safe_relative(m.group(2))
    else:
        root, rel = data_dir, _safe_relative(locator)
    path = root.joinpath(*rel.parts)
    if not path.is_file():
        raise LocatorError(f"no file at {locator!r}")
    return path


def instance_locators(study: object) -> list[str]:
    """Every DICOM-file locator in an ImagingStudy, study/series/instance level, in order."""
    found: list[str] = []

    def collect(element: object) -> None:
        for ext in getattr(element, "extension", None) or ():
            if ext.url == DICOM_FILE_EXTENSION:
                value = ext.valueString or ext.valueUri or ext.valueUrl
                if value:
                    found.append(str(value))

    collect(study)
    for series in getattr(study, "series", None) or ():
        collect(series)
        for inst in series.instance or ():
            collect(inst)
    return found
