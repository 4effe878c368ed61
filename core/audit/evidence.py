"""Following a citation to its evidence, for the auditor (``GET /v1/audit/runs/{id}/evidence``).

A citation is one of: a FHIR reference (``Observation/k1``), an image (``image:ImagingStudy/x#0``),
a knowledge-graph fact (``kg:INTERACTS_WITH/...``) or a calculation (``calc:egfr``). KG facts and
calculations are looked up in the run's own events, so the auditor sees what the agent saw at the
time: the row a ``kg.query`` returned (each KG fact carries its ``source``), else the finding that
cited it. FHIR resources and images are looked up in the patient's record by the server (the record
itself is not copied into the audit store), see ``fhir_ref``.

So that an auditor can tell whether the record still says what the run read, the run's
``load_record`` step writes a SHA-256 digest of every fact it loaded (``record_digests``, the
canonical JSON of the parsed fact, fields at their defaults left out) into its ``node.finished``
event; following a FHIR citation
compares the fact as read now with that digest (``Evidence.since_run``). A fact derived relative to
the time of reading (a date flagged as in the future) counts as a change: it is one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from core.audit.errors import AuditError
from core.audit.events import AuditEvent, EventKind, canonical_json
from core.domain import PatientRecord

CitationKind = Literal["fhir", "kg", "image", "calc"]
SinceRun = Literal["unchanged", "changed", "removed", "not_recorded"]
RECORD_DIGESTS = "record_digests"
"""The key, in ``load_record``'s ``node.finished`` payload, of the digests of what the run read."""


class EvidenceNotFound(AuditError):
    """The cited thing is in neither the run's events nor the patient's record."""

    http_status = 404
    title = "Evidence not found"


class Evidence(BaseModel):
    """What a citation points at, and where it was found."""

    model_config = ConfigDict(frozen=True)

    ref: str
    kind: CitationKind
    origin: Literal["kg.query", "finding", "record"]
    """``kg.query``: a row the KG returned during the run; ``finding``: only the citing finding
    holds it; ``record``: the patient's record as the server reads it now."""
    source: str = ""
    """The fact's published source (KG), or where the record came from (file, FHIR server)."""
    event_id: str | None = None
    """The event the evidence was found in (the ``kg.query`` or ``finding.produced``)."""
    fact: dict[str, Any]
    since_run: SinceRun | None = None
    """For ``record`` evidence, the record now against the digest the run wrote when it loaded it:
    ``unchanged``; ``changed`` (``fact`` is the record as it is now, not what the run saw);
    ``removed`` (the run read it, the record no longer holds it; ``fact`` is its reference only);
    ``not_recorded`` (the run wrote no digest of it). ``None`` for evidence from the run's own
    events."""


def citation_kind(ref: str) -> CitationKind:
    if ref.startswith("kg:"):
        return "kg"
    if ref.startswith("image:"):
        return "image"
    if ref.startswith("calc:"):
        return "calc"
    return "fhir"


def fhir_ref(ref: str) -> str:
    """The FHIR resource a citation rests on: ``image:ImagingStudy/x#0`` → ``ImagingStudy/x``."""
    if ref.startswith("image:"):
        return ref.removeprefix("image:").split("#", 1)[0]
    return ref


def evidence_in_events(ref: str, events: list[AuditEvent]) -> Evidence | None:
    """A KG fact or calculation, as the run's events hold it (``None`` if none does)."""
    kind = citation_kind(ref)
    for event in events:
        if event.kind != EventKind.KG_QUERY:
            continue
        for row in event.payload.get("results") or []:
            if isinstance(row, dict) and row.get("id") == ref:
                return Evidence(
                    ref=ref,
                    kind=kind,
                    origin="kg.query",
                    source=str(row.get("source") or ""),
                    event_id=event.event_id,
                    fact=row,
                )
    for event in events:
        if event.kind != EventKind.FINDING_PRODUCED:
            continue
        cites = [c.get("ref") for c in event.payload.get("citations") or [] if isinstance(c, dict)]
        if ref in cites:
            return Evidence(
                ref=ref,
                kind=kind,
                origin="finding",
                source=str(event.payload.get("source") or ""),
                event_id=event.event_id,
                fact=event.payload,
            )
    return None


def _record_items(record: PatientRecord) -> Iterator[tuple[str, BaseModel | None]]:
    """Every fact of a parsed record by FHIR reference; the Patient resource as ``None``."""
    yield record.patient.ref, None
    groups: tuple[tuple[Any, ...], ...] = (
        record.encounters,
        record.problems,
        record.medications,
        record.allergies,
        record.observations,
        record.notes,
        record.imaging,
    )
    for group in groups:
        for item in group:
            yield item.ref, item


def _fact(ref: str, item: BaseModel | None, *, exclude_defaults: bool = False) -> dict[str, Any]:
    """A fact as the viewer shows it: the Patient is its reference only (no identity)."""
    if item is None:
        return {"ref": ref, "resourceType": "Patient"}
    return item.model_dump(mode="json", exclude_defaults=exclude_defaults)


def _digest(ref: str, item: BaseModel | None) -> str:
    """SHA-256 (hex) of the fact's canonical JSON, fields at their defaults left out, so a field
    added to the domain model later does not make every earlier run's facts look changed."""
    return hashlib.sha256(canonical_json(_fact(ref, item, exclude_defaults=True))).hexdigest()


def _find(ref: str, record: PatientRecord) -> tuple[str, BaseModel | None] | None:
    wanted = fhir_ref(ref)
    return next((found for found in _record_items(record) if found[0] == wanted), None)


def record_fact(ref: str, record: PatientRecord) -> dict[str, Any] | None:
    """The fact of a parsed record with this FHIR reference (``None`` if it has none); the
    Patient resource is its reference only, so identity stays out of the viewer."""
    found = _find(ref, record)
    return _fact(*found) if found else None


def record_digests(record: PatientRecord) -> dict[str, str]:
    """The digest of every fact of the record, by reference: what a run read, written into its
    audit trail without copying the record there."""
    return {ref: _digest(ref, item) for ref, item in _record_items(record)}


def digests_at_run(events: list[AuditEvent]) -> dict[str, str]:
    """The digests the run's ``load_record`` step wrote (empty for a run recorded without)."""
    for event in events:
        if event.kind == EventKind.NODE_FINISHED and event.payload.get("node") == "load_record":
            digests = event.payload.get(RECORD_DIGESTS)
            if isinstance(digests, dict):
                return {str(k): str(v) for k, v in digests.items()}
    return {}


def evidence_in_record(
    ref: str, record: PatientRecord, digests: Mapping[str, str]
) -> Evidence | None:
    """A FHIR resource or image as the record holds it now, compared with what the run read
    (``None`` if neither the record nor the run's digests know it)."""
    wanted = fhir_ref(ref)
    found = _find(ref, record)
    at_run = digests.get(wanted)
    since: SinceRun
    if found is None:
        if at_run is None:
            return None
        fact, since = {"ref": wanted}, "removed"
    else:
        fact = _fact(*found)
        if at_run is None:
            since = "not_recorded"
        else:
            since = "unchanged" if _digest(*found) == at_run else "changed"
    return Evidence(
        ref=ref,
        kind=citation_kind(ref),
        origin="record",
        source=record.source,
        fact=fact,
        since_run=since,
    )
