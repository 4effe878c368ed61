"""Where patient records come from: a directory of bundles, or a FHIR R4 server.

Both implement :class:`PatientSource`; graphs and the server depend on the protocol only. File and
network reads never block the event loop (files are read in a worker thread).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from core.domain import PatientRecord, PatientSummary
from core.errors import InvalidInput, RecordNotFound
from core.logging import get_logger
from core.settings import SHIPPED_DATA
from tools.fhir.bundle import MAX_OBSERVATIONS
from tools.fhir.parse import parse_bundle
from tools.fhir.ward_index import UNREADABLE, UnreadableBundles, WardIndex, file_digest

log = get_logger(__name__)

# FHIR R4 id: [A-Za-z0-9\-\.]{1,64} (FHIR R4 datatypes, "id"). Anything else is refused before it
# reaches a file name or a URL.
_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def check_patient_id(patient_id: str) -> str:
    if not _FHIR_ID.match(patient_id) or patient_id in (".", ".."):
        raise InvalidInput(f"not a FHIR id: {patient_id!r} (letters, digits, '-', '.'; max 64)")
    return patient_id


@runtime_checkable
class PatientSource(Protocol):
    """Loads patient records by id and lists the patients it holds."""

    async def load(self, patient_id: str) -> PatientRecord: ...

    async def list_patients(self) -> list[PatientSummary]: ...


def summarise(record: PatientRecord, today: date) -> PatientSummary:
    """A ward-list line: the admission reason, else the first active problem, is the headline."""
    reasons = [e.reason for e in record.encounters if e.reason and e.status == "in-progress"]
    active = [p.display for p in record.problems if p.clinical_status in ("active", "")]
    return PatientSummary(
        id=record.patient.id,
        name=record.patient.name,
        ward=record.patient.ward,
        age=record.patient.age_on(today),
        sex=record.patient.sex,
        headline_problem=(reasons or active or [""])[0],
        identifier=next((i.rsplit("|", 1)[-1] for i in record.patient.identifiers if i), ""),
    )


class DirectoryPatientSource:
    """Bundles on disk: patient ``id`` is ``<directory>/<id>.json``. ``path`` may also be a single
    bundle file, which is then the only patient."""

    def __init__(
        self,
        path: Path = SHIPPED_DATA / "patients",
        *,
        clock: Callable[[], datetime] | None = None,
        data_dir: Path = SHIPPED_DATA,
        max_observations: int = MAX_OBSERVATIONS,
    ) -> None:
        self.path = Path(path)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._data_dir = data_dir
        self._max_observations = max_observations
        self.wards = WardIndex()
        self.unreadable = UnreadableBundles()

    def _file_for(self, patient_id: str) -> Path:
        if self.path.is_file():
            if patient_id != self.path.stem:
                raise RecordNotFound(f"{patient_id!r} is not the patient in {self.path.name}")
            return self.path
        return self.path / f"{check_patient_id(patient_id)}.json"

    def _files(self) -> list[Path]:
        if self.path.is_file():
            return [self.path]
        if not self.path.is_dir():
            raise RecordNotFound(f"patient directory {self.path} does not exist")
        return sorted(self.path.glob("*.json"))

    def _parse(self, file: Path) -> PatientRecord:
        try:
            record = parse_bundle(
                file,
                now=self._clock(),
                data_dir=self._data_dir,
                max_observations=self._max_observations,
            )
        except UNREADABLE as err:
            self.unreadable.note(file, err)
            raise
        if record.patient.id != file.stem:
            log.info("fhir.patient_id_differs_from_file", file_digest=file_digest(file))
        self.unreadable.clear(file)
        self.wards.remember(file, record.patient.ward)
        return record

    def _load(self, patient_id: str) -> PatientRecord:
        file = self._file_for(patient_id)
        if not file.is_file():
            raise RecordNotFound(f"no patient {patient_id!r} in {self.path}")
        return self._parse(file)

    def _ward_of(self, patient_id: str) -> str | None:
        if not self.wards.complete:
            self.wards.complete = True
            for file in self._files():
                self._readable(file)
        try:
            file = self._file_for(patient_id)
        except RecordNotFound:  # a single bundle file that is another patient
            return None
        known = self.wards.get(file)
        if known is not None or not file.is_file():
            return known.ward if known else None
        record = self._readable(file)
        return record.patient.ward if record else None

    def _readable(self, file: Path) -> PatientRecord | None:
        try:
            return self._parse(file)
        except UNREADABLE:
            self.wards.remember(file, None)
            return None

    async def ward_of(self, patient_id: str) -> str | None:
        """The patient's ward, ``None`` when there is no such patient or the bundle cannot be
        read. Kept per file version after the first call, so that the answer costs the same few
        file-system calls whether the patient exists or not: who is not on the ward cannot time
        the difference."""
        return await asyncio.to_thread(self._ward_of, patient_id)

    async def status(self) -> dict[str, Any]:
        """Readiness: the directory (or bundle file) is there, how many bundles it holds, and
        which could not be read (named by file: for administrators, see ``/readyz``)."""
        if self.path.is_file():
            return {"ok": True, "bundles": 1, "unreadable": self.unreadable.listing()}
        if not self.path.is_dir():
            return {"ok": False, "detail": "the patients directory does not exist"}
        bundles = sum(1 for _ in self.path.glob("*.json"))
        return {"ok": True, "bundles": bundles, "unreadable": self.unreadable.listing()}

    async def load(self, patient_id: str) -> PatientRecord:
        return await asyncio.to_thread(self._load, patient_id)

    async def list_patients(self) -> list[PatientSummary]:
        """Every readable patient; a bundle that cannot be read is left out (and named as a data
        issue), never the reason the ward list fails for everyone."""
        today = self._clock().date()
        files = await asyncio.to_thread(self._files)
        records = await asyncio.gather(*(asyncio.to_thread(self._readable, f) for f in files))
        # listed under the id it is loaded by, its file name: a bundle whose Patient.id differs
        # showed as a second patient (or as another file's) that could not be opened
        return [
            summarise(r, today).model_copy(update={"id": f.stem})
            for f, r in zip(files, records, strict=True)
            if r is not None
        ]


async def load_patient(
    patient: str,
    patients_dir: Path,
    clock: Callable[[], datetime] | None = None,
    max_observations: int = MAX_OBSERVATIONS,
) -> PatientRecord:
    """Load ``patient``: a path to a bundle file, or an id in ``patients_dir`` (CLI helper)."""
    as_path = Path(patient)
    if as_path.suffix == ".json" and await asyncio.to_thread(as_path.is_file):
        source = DirectoryPatientSource(as_path, clock=clock, max_observations=max_observations)
        return await source.load(as_path.stem)
    source = DirectoryPatientSource(patients_dir, clock=clock, max_observations=max_observations)
    return await source.load(patient)
