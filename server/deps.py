"""What the routes depend on: the server state, the thread table, and the dependency aliases.

The aliases are declared once here (``CurrentUser``, ``Clinician``, ``ServerDeps``) and used by
every route module. Scope rules live here too, so every endpoint applies them the same way: a
patient off the caller's wards, or a thread about one, is **404 as if it did not exist** (see
``server.auth``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from core.audit import EventKind
from core.domain import PatientRecord
from core.errors import Forbidden, InvalidFhir, NotAuthenticated, RecordNotFound, WardroundError
from core.settings import Settings
from server.auth import TOKEN_PREFIX, Principal, RateLimiter, TokenStore
from server.oidc import OidcVerifier, looks_like_jwt
from server.thread_store import ThreadRow, ThreadStore
from server.wiring import Runtime


class NotReady(WardroundError):
    http_status = 503
    title = "Not ready"


class ThreadNotFound(WardroundError):
    http_status = 404
    title = "Thread not found"


@dataclass
class ServerState:
    """Everything a request needs, built once by ``create_app``."""

    settings: Settings
    tokens: TokenStore
    limiter: RateLimiter
    threads: ThreadStore
    runtime: Runtime | None = None
    background: set[asyncio.Task[Any]] = field(default_factory=set)
    oidc: OidcVerifier | None = field(init=False, default=None)
    """JWT bearer tokens from the configured OIDC provider (``WARDROUND_OIDC_*``), if any."""

    def __post_init__(self) -> None:
        self.oidc = OidcVerifier.from_settings(self.settings)

    def require_runtime(self) -> Runtime:
        if self.runtime is None:
            raise NotReady("the ward round is still starting")
        return self.runtime

    def keep(self, task: asyncio.Task[Any]) -> None:
        self.background.add(task)
        task.add_done_callback(self.background.discard)


def get_state(request: Request) -> ServerState:
    state: ServerState = request.app.state.wardround
    return state


ServerDeps = Annotated[ServerState, Depends(get_state)]
_bearer = HTTPBearer(auto_error=False, description="wardround token (wardround users add)")


async def current_principal(
    state: ServerDeps,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller: a tokens-file token (``wr_...``) or, when OIDC is configured, a JWT."""
    if credentials is None:
        raise NotAuthenticated("send 'Authorization: Bearer <token>'")
    token = credentials.credentials
    if not token.startswith(f"{TOKEN_PREFIX}_") and looks_like_jwt(token):
        if state.oidc is None:
            raise NotAuthenticated("JWT bearer tokens are not enabled (WARDROUND_OIDC_ISSUER)")
        principal = await state.oidc.verify(token)
    else:
        principal = state.tokens.verify(token)
    state.limiter.take(principal.id)
    return principal


CurrentUser = Annotated[Principal, Depends(current_principal)]


def require_clinician(user: CurrentUser) -> Principal:
    if user.role != "clinician":
        raise Forbidden(f"a {user.role} cannot read patient records or chat about patients")
    return user


Clinician = Annotated[Principal, Depends(require_clinician)]


def require_auditor(user: CurrentUser) -> Principal:
    if user.role != "auditor":
        raise Forbidden(f"a {user.role} cannot read the audit trail")
    return user


Auditor = Annotated[Principal, Depends(require_auditor)]


def _not_on_wards(patient_id: str) -> RecordNotFound:
    # the same words whether the patient is elsewhere or nowhere: existence is not disclosed
    return RecordNotFound(f"no patient {patient_id!r} on your wards")


async def audit_access(
    state: ServerState,
    user: Principal,
    action: str,
    *,
    patient_id: str | None = None,
    thread_id: str | None = None,
    **payload: Any,
) -> None:
    """An ``access`` audit event: who tried to reach which patient's data, and whether allowed."""
    if state.runtime is None:
        return
    recorder = state.runtime.audit.recorder(
        thread_id=thread_id, patient_id=patient_id, principal_id=user.id
    )
    await recorder.emit(EventKind.ACCESS, {"action": action, "role": user.role, **payload})


async def patient_in_scope(
    state: ServerState,
    user: Principal,
    patient_id: str,
    *,
    action: str = "open_thread",
    thread_id: str | None = None,
) -> PatientRecord:
    """The patient's record if they are on one of ``user``'s wards; 404 otherwise (audited).

    The ward is checked before the record is read where the source can tell it (a directory of
    bundles keeps each file's ward): a patient elsewhere and a patient nowhere then cost the same
    and answer the same, and a broken bundle off the ward is never read for this caller.
    """
    patients = state.require_runtime().deps.patients
    record: PatientRecord | None = None
    ward_of = getattr(patients, "ward_of", None)
    if ward_of is not None:
        ward: str | None = await ward_of(patient_id)
    else:
        try:
            record = await patients.load(patient_id)
        except (RecordNotFound, InvalidFhir):  # unreadable: no ward anyone is known to be on
            record = None
        ward = record.patient.ward if record else None
    allowed = ward is not None and user.covers_ward(ward)
    await audit_access(
        state, user, action, patient_id=patient_id, thread_id=thread_id, allowed=allowed
    )
    if not allowed:
        raise _not_on_wards(patient_id)
    return record if record is not None else await patients.load(patient_id)


async def thread_in_scope(
    state: ServerState, user: Principal, thread_id: str, *, action: str = "read_thread"
) -> ThreadRow:
    """The thread if its patient is on ``user``'s wards (the ward team shares threads); else 404."""
    row = await state.threads.get(thread_id)
    if row is None:
        raise ThreadNotFound(f"no thread {thread_id!r}")
    try:
        await patient_in_scope(state, user, row.patient_id, action=action, thread_id=row.id)
    except RecordNotFound as elsewhere:
        raise ThreadNotFound(f"no thread {thread_id!r}") from elsewhere
    return row
