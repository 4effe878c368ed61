"""What every resource mapper shares while one bundle is parsed: the index, the clock, the issues.

Issues are defects in the data that do not make the bundle unreadable (a future date, a negative
concentration, an unresolvable DICOM file). They are recorded on the record, never fixed up: the
fact stays as written and the issue says what is wrong with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from core.domain import DataIssue
from tools.fhir.bundle import IndexedBundle


@dataclass
class ParseContext:
    bundle: IndexedBundle
    now: datetime
    data_dir: Path
    issues: list[DataIssue] = field(default_factory=list)
    _told: set[str] = field(default_factory=set)

    def issue(self, ref: str, kind: str, message: str, path: str = "") -> None:
        self.issues.append(DataIssue(ref=ref, kind=kind, message=message, path=path))

    def issue_once(self, key: str, ref: str, kind: str, message: str, path: str = "") -> None:
        """An issue said once per ``key`` (e.g. per analyte), not once per result that shows it:
        sixty results in the same odd unit are one thing to fix at the source."""
        if key not in self._told:
            self._told.add(key)
            self.issue(ref, kind, message, path)

    def checked_date(self, when: datetime | None, ref: str, path: str) -> datetime | None:
        """``when`` unchanged; a date after ``now`` is recorded as a ``future_date`` issue."""
        if when is not None and when > self.now:
            self.issue(
                ref,
                "future_date",
                f"{when.isoformat()} is after the parse time {self.now.isoformat()}",
                path,
            )
        return when
