"""Audit events and the hash that chains them.

Canonical JSON (version 1), the byte string every hash is computed over:

* UTF-8, ``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
  allow_nan=False)``: keys sorted by code point, no insignificant whitespace, non-ASCII text kept
  as UTF-8 (not ``\\u`` escapes), NaN and infinities refused;
* timestamps are UTC strings ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (fixed width, so they also sort);
* ``event_id`` is the lower-case hyphenated UUID; ``kind`` its dotted string;
* ``duration_ms`` is a JSON number or ``null``; absent ids are ``null`` (never omitted).

The hashed body is the whole event except ``hash`` (so it includes ``seq`` and ``prev_hash``):
``hash = sha256(prev_hash ‖ canonical_json(body))`` where ``prev_hash`` is the 64-character hex
digest of the previous event (``GENESIS_HASH`` for the first event ever appended) and ``‖`` is
byte concatenation of its ASCII form and the canonical bytes.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import to_jsonable_python

from core.audit.errors import InvalidAuditEvent

GENESIS_HASH = "0" * 64
"""``prev_hash`` of the very first event of a store."""

TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


class EventKind(StrEnum):
    """What happened. Dotted names group by subject: ``request.*``, ``node.*``, ``approval.*``."""

    REQUEST_RECEIVED = "request.received"
    REQUEST_ANSWERED = "request.answered"
    NODE_STARTED = "node.started"
    NODE_FINISHED = "node.finished"
    MODEL_CALL = "model.call"
    TOOL_CALL = "tool.call"
    KG_QUERY = "kg.query"
    FINDING_PRODUCED = "finding.produced"
    CITATION_VERIFIED = "citation.verified"
    CITATION_REJECTED = "citation.rejected"
    APPROVAL_REQUESTED = "approval.requested"
    APPROVAL_DECIDED = "approval.decided"
    APPROVAL_RECORDED = "approval.recorded"
    """Where an approved decision was written (``recorded_as``), after the outbox took it."""
    ERROR = "error"
    DEGRADED = "degraded"
    ACCESS = "access"
    AUDIT_ARCHIVED = "audit.archived"
    """Written by the store itself when a closed segment is moved to an archive file."""


RUN_FAILED = "run"
"""``payload["where"]`` of the ``error`` event that ends a run which raised before answering
(written by ``graphs.run``; the OpenTelemetry exporter exports such a run too)."""


def canonical_json(obj: Any) -> bytes:
    """The canonical byte form of a JSON value (see the module docstring)."""
    try:
        text = json.dumps(
            obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
        return text.encode("utf-8")
    except (TypeError, ValueError, UnicodeEncodeError) as exc:
        raise InvalidAuditEvent(f"not canonical JSON: {exc}") from exc


def format_ts(ts: datetime) -> str:
    if ts.tzinfo is None:
        raise InvalidAuditEvent("audit timestamps must be timezone-aware")
    return ts.astimezone(UTC).strftime(TS_FORMAT)


def parse_ts(text: str) -> datetime:
    return datetime.strptime(text, TS_FORMAT).replace(tzinfo=UTC)


def jsonable_payload(payload: Any) -> dict[str, Any]:
    """Turn a payload (pydantic models, datetimes, tuples...) into plain JSON types, once."""
    try:
        value = to_jsonable_python(payload if payload is not None else {})
    except Exception as exc:  # pydantic_core raises PydanticSerializationError, a ValueError
        raise InvalidAuditEvent(f"payload is not JSON-serialisable: {exc}") from exc
    if not isinstance(value, dict):
        raise InvalidAuditEvent("an audit payload is a JSON object")
    canonical_json(value)  # refuses NaN, lone surrogates...
    return value


class EventDraft(BaseModel):
    """What a caller hands to ``AuditStore.append``; the store adds ``seq`` and the hashes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: EventKind
    run_id: str | None = None
    thread_id: str | None = None
    patient_id: str | None = None
    principal_id: str | None = None
    parent_id: str | None = Field(default=None, description="event_id of the parent step")
    payload: dict[str, Any] = Field(default_factory=dict)
    duration_ms: float | None = None
    event_id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    ts: datetime | None = Field(default=None, description="when it happened; default: append time")

    @field_validator("payload", mode="before")
    @classmethod
    def _jsonable(cls, value: Any) -> dict[str, Any]:
        return jsonable_payload(value)

    @field_validator("event_id")
    @classmethod
    def _uuid(cls, value: str) -> str:
        return str(uuid.UUID(value))

    @field_validator("ts")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("audit timestamps must be timezone-aware")
        return value

    @field_validator("duration_ms")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("duration_ms must be finite")
        return value


class AuditEvent(BaseModel):
    """One recorded, chained event. Immutable once appended."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seq: int = Field(description="position in the chain, 1-based, dense, monotonic")
    event_id: str
    ts: datetime
    kind: EventKind
    run_id: str | None = None
    thread_id: str | None = None
    patient_id: str | None = None
    principal_id: str | None = None
    parent_id: str | None = None
    payload: dict[str, Any] = Field(default_factory=dict)
    duration_ms: float | None = None
    prev_hash: str
    hash: str

    def body(self) -> dict[str, Any]:
        """The hashed body: every field but ``hash``, in canonical value form."""
        return event_body(self.model_dump(exclude={"hash"}))

    def expected_hash(self) -> str:
        return chain_hash(self.prev_hash, self.body())

    def to_record(self) -> dict[str, Any]:
        """The event as one JSON object (body plus hash), as archived and exported."""
        return {**self.body(), "hash": self.hash}

    @classmethod
    def seal(cls, draft: EventDraft, *, seq: int, ts: datetime, prev_hash: str) -> AuditEvent:
        """Give a draft its place in the chain and compute its hash."""
        fields = draft.model_dump()
        fields.update(seq=seq, ts=draft.ts or ts, prev_hash=prev_hash)
        return cls(**fields, hash=chain_hash(prev_hash, event_body(fields)))


BODY_FIELDS = (
    # what the hash covers, in order; an archived record is these plus ``hash``
    "seq",
    "event_id",
    "ts",
    "kind",
    "run_id",
    "thread_id",
    "patient_id",
    "principal_id",
    "parent_id",
    "payload",
    "duration_ms",
    "prev_hash",
)


def event_body(fields: dict[str, Any]) -> dict[str, Any]:
    """Normalise event fields (model values or stored column values) to the hashed body."""
    body = {name: fields.get(name) for name in BODY_FIELDS}
    ts = body["ts"]
    body["ts"] = format_ts(ts) if isinstance(ts, datetime) else ts
    body["kind"] = str(body["kind"])
    body["event_id"] = str(body["event_id"])
    if body["duration_ms"] is not None:
        body["duration_ms"] = float(body["duration_ms"])
    return body


def chain_hash(prev_hash: str, body: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + canonical_json(body)).hexdigest()
