"""Where a DICOM file is: plain paths, data-dir-relative paths and package sample paths.

Sample files shipped inside the ``pydicom`` and ``pydicom-data`` distributions are addressed as
``pydicom:data/test_files/CT_small.dcm`` or ``pydicom-data:data/RG1_UNCR.dcm`` and read straight
from the installed package directory. pydicom's ``get_testdata_file(s)`` are deliberately not
used: they try to download missing files, and wardround runs without network access.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from core.errors import InvalidInput, RecordNotFound

# prefix -> importable package whose directory holds the samples (pydicom-data installs as
# the top-level package "data_store"). Found with find_spec so no package code runs.
PACKAGE_PREFIXES = {"pydicom": "pydicom", "pydicom-data": "data_store"}
_SPEC = re.compile(r"^(?P<prefix>[a-z][a-z0-9_-]+):(?P<rel>[^:].*)$")


def package_dir(prefix: str) -> Path:
    """The installed directory of a sample package, e.g. ``package_dir('pydicom-data')``."""
    module = PACKAGE_PREFIXES.get(prefix)
    if module is None:
        known = ", ".join(sorted(PACKAGE_PREFIXES))
        raise InvalidInput(f"unknown DICOM package prefix {prefix!r}; use one of {known}")
    spec = importlib.util.find_spec(module)
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise RecordNotFound(f"package {module!r} for prefix {prefix!r} is not installed")
    return Path(locations[0]).resolve()


def _inside(root: Path, relative: str | Path, what: str) -> Path:
    candidate = (root / relative).resolve()
    if not candidate.is_relative_to(root):
        raise InvalidInput(f"DICOM path {str(relative)!r} escapes {what}")
    return candidate


def resolve_dicom_path(spec: str | Path, *, base_dir: Path | None = None) -> Path:
    """Turn a path spec into an existing file path.

    - ``"pydicom:data/test_files/CT_small.dcm"``: a file inside an installed sample package
    - a relative path with ``base_dir`` (the data dir): resolved inside it, never outside
    - anything else: a filesystem path
    """
    if isinstance(spec, str) and (match := _SPEC.match(spec)):
        root = package_dir(match["prefix"])
        path = _inside(root, match["rel"], f"the {match['prefix']} package")
    else:
        path = Path(spec)
        if base_dir is not None and not path.is_absolute():
            path = _inside(base_dir.resolve(), path, "the data directory")
    if not path.is_file():
        raise RecordNotFound(f"DICOM file not found: {spec}")
    return path
