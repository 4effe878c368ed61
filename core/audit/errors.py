"""Typed errors of the audit store, all subclasses of ``WardroundError``."""

from __future__ import annotations

from core.errors import ConfigurationError, WardroundError


class AuditError(WardroundError):
    """Base class of audit-store failures."""

    http_status = 500
    title = "Audit store error"


class AuditChainBroken(AuditError):
    """The hash chain failed verification; ``seq`` and ``event_id`` name the first bad event."""

    http_status = 409
    title = "Audit chain broken"

    def __init__(
        self, message: str, *, seq: int | None = None, event_id: str | None = None
    ) -> None:
        super().__init__(message)
        self.seq = seq
        self.event_id = event_id


class AuditRunNotFound(AuditError):
    """No audit events carry that run id (never recorded, or archived)."""

    http_status = 404
    title = "Run not found"


class AuditKeyMissing(ConfigurationError):
    """A checkpoint was asked for but no checkpoint key (``WARDROUND_AUDIT_KEY``) is configured."""

    title = "Audit key missing"


class InvalidAuditEvent(AuditError):
    """An event draft could not be recorded (payload not JSON-serialisable, unknown kind...)."""

    http_status = 422
    title = "Invalid audit event"
