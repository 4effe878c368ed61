"""``GET /v1/patients``: the patients on the caller's wards (clinicians only)."""

from __future__ import annotations

from fastapi import APIRouter

from core.domain import PatientSummary
from server.deps import Clinician, NotReady, ServerDeps, audit_access

router = APIRouter(prefix="/v1/patients", tags=["patients"])


@router.get("")
async def list_patients(state: ServerDeps, user: Clinician) -> list[PatientSummary]:
    source = state.require_runtime().deps.patients
    lister = getattr(source, "list_patients", None)
    if lister is None:
        raise NotReady("the configured record source cannot list patients")
    patients: list[PatientSummary] = await lister()
    visible = [p for p in patients if user.covers_ward(p.ward)]
    await audit_access(state, user, "list_patients", wards=list(user.wards), count=len(visible))
    return visible
