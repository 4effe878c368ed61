"""The auditor's read-only API: runs, one run as a tree, a citation's evidence, chain
verification, FHIR export. The trace viewer at ``/audit`` (``server/static/audit.*``) is built on
these routes only.

Only principals with the ``auditor`` role reach these routes (clinicians and admins get 403).
Every read is itself recorded as an ``access`` event, so the audit trail shows who audited what.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from core.audit import AuditStore, RunPage, RunTree, VerifyReport
from core.audit.evidence import (
    Evidence,
    EvidenceNotFound,
    citation_kind,
    digests_at_run,
    evidence_in_events,
    evidence_in_record,
)
from core.audit.fhir_export import export_bundle
from core.audit.runs import RunOutcome
from core.errors import InvalidInput
from server.deps import Auditor, NotReady, ServerDeps, ServerState, audit_access

router = APIRouter(prefix="/v1/audit", tags=["audit"])


def _store(state: ServerState) -> AuditStore:
    store: AuditStore | None = getattr(state.require_runtime(), "audit", None)
    if store is None:
        raise NotReady("no audit store is configured")
    return store


class RunFilter(BaseModel):
    """Query parameters of ``GET /v1/audit/runs``."""

    patient: str | None = None
    principal: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    outcome: RunOutcome | None = Field(
        default=None, description="only runs that ended this way (answered, failed...)"
    )
    limit: int = Field(default=50, ge=1, le=500)
    cursor: str | None = Field(
        default=None,
        pattern=r"^[0-9]{1,18}$",
        description="the next_cursor of the page before (a sequence number)",
    )


@router.get("/runs")
async def list_runs(
    state: ServerDeps, user: Auditor, filters: Annotated[RunFilter, Query()]
) -> RunPage:
    page = await _store(state).runs(**filters.model_dump())
    await audit_access(
        state, user, "audit.runs", patient_id=filters.patient, returned=len(page.runs)
    )
    return page


@router.get("/runs/{run_id}")
async def get_run(state: ServerDeps, user: Auditor, run_id: str) -> RunTree:
    tree = await _store(state).run(run_id)
    await audit_access(state, user, "audit.run", run=run_id)
    return tree


@router.get("/runs/{run_id}/evidence")
async def get_evidence(
    state: ServerDeps, user: Auditor, run_id: str, ref: Annotated[str, Query(max_length=512)]
) -> Evidence:
    """Follow a citation of this run to what it cites: a KG fact (the row the run's ``kg.query``
    returned, with its source), a calculation (the finding), or a FHIR resource or image (the
    patient's record, read now, and whether it still matches what the run read: ``since_run``)."""
    store = _store(state)
    events = await store.events(run_id=run_id)
    if not events:
        await store.run(run_id)  # raises AuditRunNotFound (404)
    patient_id = next((e.patient_id for e in events if e.patient_id), None)
    await audit_access(state, user, "audit.evidence", patient_id=patient_id, run=run_id, ref=ref)
    kind = citation_kind(ref)
    found = evidence_in_events(ref, events) if kind in ("kg", "calc") else None
    if found is None and kind in ("fhir", "image") and patient_id is not None:
        record = await state.require_runtime().deps.patients.load(patient_id)
        found = evidence_in_record(ref, record, digests_at_run(events))
    if found is None:
        raise EvidenceNotFound(f"run {run_id} holds no evidence for {ref!r}")
    return found


@router.get("/verify")
async def verify_chain(state: ServerDeps, user: Auditor) -> VerifyReport:
    report = await _store(state).verify()
    await audit_access(state, user, "audit.verify", ok=report.ok)
    return report


@router.get("/export")
async def export_fhir(
    state: ServerDeps, user: Auditor, run: str | None = None, patient: str | None = None
) -> dict[str, Any]:
    """FHIR R4 ``AuditEvent`` + ``Provenance`` resources as a Bundle (validated on export): of
    one run or of one patient's runs; the whole store is never one answer."""
    if run is None and patient is None:
        raise InvalidInput("export needs run= or patient= (the whole store is not one bundle)")
    bundle = await export_bundle(_store(state), run_id=run, patient_id=patient)
    await audit_access(state, user, "audit.export", patient_id=patient, run=run)
    exported: dict[str, Any] = bundle.model_dump(mode="json", exclude_none=True)
    return exported
