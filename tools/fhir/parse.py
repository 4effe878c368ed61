"""Parse a FHIR R4 bundle into a :class:`core.domain.PatientRecord`.

One bundle is one patient. Every fact keeps ``ref`` ("Observation/k-1"), its citation key.
Structural problems raise :class:`core.errors.InvalidFhir` naming the element path; defects in
otherwise readable data (future dates, negative concentrations, unknown codes, DICOM files that
cannot be found) are kept and listed in ``PatientRecord.data_issues``. Resource types wardround
does not read (Practitioner, Organization, Provenance...) are skipped; they are not facts about the
patient.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from core.domain import Encounter, Note, PatientRecord
from core.errors import InvalidFhir
from core.logging import get_logger
from core.settings import SHIPPED_DATA
from tools.fhir import clinical, medications, results
from tools.fhir.bundle import (
    Entry,
    IndexedBundle,
    Trimmed,
    index,
    newest_observations,
    read_json,
    validate,
)
from tools.fhir.context import ParseContext

log = get_logger(__name__)
T = TypeVar("T")

# Resource types whose ``subject``/``patient`` must be the bundle's one patient.
_SUBJECT_FIELDS = {
    "Encounter": "subject",
    "Condition": "subject",
    "MedicationRequest": "subject",
    "MedicationStatement": "subject",
    "AllergyIntolerance": "patient",
    "Observation": "subject",
    "DiagnosticReport": "subject",
    "DocumentReference": "subject",
    "ImagingStudy": "subject",
}


def parse_bundle(
    bundle: Mapping[str, Any] | str | Path,
    *,
    now: datetime | None = None,
    data_dir: Path = SHIPPED_DATA,
    source: str = "",
    max_observations: int | None = None,
) -> PatientRecord:
    """Parse a bundle (a dict, or a path to a JSON file) into a patient record.

    ``now`` is the clock against which future dates are flagged (default: the current time);
    ``data_dir`` resolves relative DICOM locators; ``source`` is recorded on the record;
    ``max_observations`` (default ``tools.fhir.bundle.MAX_OBSERVATIONS``): only the newest are
    checked, the rest named in a ``record_too_large`` data issue.
    """
    data, origin = read_json(bundle)
    data, trimmed = newest_observations(data, max_observations)
    validated, positions, unreadable = validate(data)
    indexed = index(validated, positions)
    ctx = ParseContext(bundle=indexed, now=now or datetime.now(UTC), data_dir=data_dir)
    ctx.issues.extend(unreadable)
    if trimmed is not None:
        ctx.issue("Bundle", PARTLY_CHECKED, partly_checked_message(trimmed), "Bundle.entry")
    patient_entry = _the_patient(indexed)
    _check_subjects(indexed, patient_entry.ref)
    encounters = _each(indexed, ctx, clinical.encounter, "Encounter")
    record = PatientRecord(
        patient=clinical.patient(patient_entry, ctx, _current_ward(encounters)),
        encounters=encounters,
        problems=_each(indexed, ctx, clinical.problem, "Condition"),
        medications=_each(
            indexed, ctx, medications.medication, "MedicationRequest", "MedicationStatement"
        ),
        allergies=_each(indexed, ctx, clinical.allergy, "AllergyIntolerance"),
        observations=tuple(
            o for many in _each(indexed, ctx, results.observations, "Observation") for o in many
        ),
        notes=_notes(indexed, ctx),
        imaging=_each(indexed, ctx, results.imaging_study, "ImagingStudy"),
        source=source or origin,
        data_issues=tuple(ctx.issues),
    )
    log.debug(
        "fhir.parsed",
        resources=len(indexed.entries),
        observations=len(record.observations),
        issues=len(record.data_issues),
    )
    return record


PARTLY_CHECKED = "record_too_large"
"""The data-issue kind of a record whose oldest Observations were not checked."""


def partly_checked_message(trimmed: Trimmed) -> str:
    return (
        f"record too large to check in time: checked the {trimmed.kept:,} newest of "
        f"{trimmed.total:,} observations (from {trimmed.oldest_kept or 'undated'} on)"
    )


def _the_patient(indexed: IndexedBundle) -> Entry:
    patients = list(indexed.of_type("Patient"))
    if not patients:
        raise InvalidFhir("bundle has no Patient resource", path="Bundle.entry")
    if len(patients) > 1:
        raise InvalidFhir(
            f"bundle has {len(patients)} Patient resources; one bundle is one patient",
            path=f"{patients[1].path}",
        )
    return patients[0]


def _check_subjects(indexed: IndexedBundle, patient_ref: str) -> None:
    """Every clinical fact must be about this bundle's patient: mixing two patients' data is the
    worst error a record can carry, so it is refused outright."""
    for entry in indexed.entries:
        name = _SUBJECT_FIELDS.get(entry.resource.get_resource_type())
        subject = getattr(entry.resource, name, None) if name else None
        if subject is None or not subject.reference:
            continue
        target = indexed.resolve(subject.reference)
        target_ref = target.ref if target else subject.reference
        if target_ref != patient_ref:
            raise InvalidFhir(
                f"{entry.ref} is about {subject.reference}, not this bundle's {patient_ref}",
                path=f"{entry.path}.{name}.reference",
            )


def _current_ward(encounters: tuple[Encounter, ...]) -> str:
    """The ward of the in-progress encounter (latest start), else of the latest encounter."""
    dated = sorted(
        (e for e in encounters if e.ward),
        key=lambda e: e.start or datetime.min.replace(tzinfo=UTC),
    )
    current = [e for e in dated if e.status in ("in-progress", "arrived", "onleave")]
    chosen = (current or dated)[-1:] if (current or dated) else []
    return chosen[0].ward if chosen else ""


# What reading one resource may raise on data it cannot use (a bad attachment, a value of an
# unexpected shape): that resource becomes a data issue and the rest of the record is read.
_UNREADABLE = (InvalidFhir, ValueError, TypeError, AttributeError, KeyError, IndexError)


def _each(
    indexed: IndexedBundle, ctx: ParseContext, read: Callable[[Entry, ParseContext], T], *types: str
) -> tuple[T, ...]:
    out: list[T] = []
    for entry in indexed.of_type(*types):
        try:
            out.append(read(entry, ctx))
        except _UNREADABLE as exc:
            path = getattr(exc, "path", "") or entry.path
            why = str(exc).splitlines()[0][:200]
            ctx.issue(entry.ref, "unreadable", f"left out: {type(exc).__name__}: {why}", path)
            log.warning("fhir.unreadable_resource", ref=entry.ref, error=type(exc).__name__)
    return tuple(out)


def _notes(indexed: IndexedBundle, ctx: ParseContext) -> tuple[Note, ...]:
    notes = list(_each(indexed, ctx, results.document_note, "DocumentReference"))
    reports = _each(indexed, ctx, results.report_note, "DiagnosticReport")
    return tuple(notes + [n for n in reports if n is not None])
