"""What a directory of bundles knows about its files without parsing them again: each file's
ward (for the ward check before a record is read) and which files could not be read.

Both are kept per file *version* (modification time and size), so an edited or replaced bundle is
read afresh. Files are named by a digest in logs: a bundle's file name is its patient's id.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

from core.errors import WardroundError
from core.logging import get_logger

log = get_logger(__name__)

UNREADABLE: tuple[type[Exception], ...] = (WardroundError, ValueError, RecursionError, OSError)
"""What reading one bundle may raise: ``InvalidFhir`` for every defect we name, and the errors a
hostile file could still reach the parser with. One such file is skipped, never fatal."""


def file_digest(file: Path) -> str:
    """A stable name for ``file`` that does not disclose the patient id it is named after."""
    return hashlib.sha256(file.name.encode()).hexdigest()[:12]


def _version(file: Path) -> tuple[int, int] | None:
    try:
        stat = file.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


@dataclass(frozen=True)
class Known:
    version: tuple[int, int]
    ward: str | None
    """``None``: the bundle could not be read, so it has no ward anyone is on."""


class WardIndex:
    def __init__(self) -> None:
        self._known: dict[str, Known] = {}
        self._lock = threading.Lock()
        self.complete = False
        """Every file of the directory has been read once."""

    def remember(self, file: Path, ward: str | None) -> None:
        version = _version(file)
        if version is not None:
            with self._lock:
                self._known[file.name] = Known(version, ward)

    def get(self, file: Path) -> Known | None:
        """What is known of this version of ``file``; ``None`` if it changed or is new."""
        with self._lock:
            known = self._known.get(file.name)
        return known if known is not None and known.version == _version(file) else None


class UnreadableBundles:
    """The bundles that could not be read, by file name, with the kind of problem."""

    def __init__(self) -> None:
        self._problems: dict[str, str] = {}
        self._lock = threading.Lock()

    def note(self, file: Path, err: BaseException) -> None:
        problem = type(err).__name__
        path = getattr(err, "path", "")
        with self._lock:
            self._problems[file.name] = f"{problem} at {path}" if path else problem
        log.warning(
            "fhir.bundle_unreadable", file_digest=file_digest(file), problem=problem, path=path
        )

    def clear(self, file: Path) -> None:
        with self._lock:
            self._problems.pop(file.name, None)

    def listing(self) -> list[dict[str, str]]:
        with self._lock:
            return [{"file": name, "problem": p} for name, p in sorted(self._problems.items())]
