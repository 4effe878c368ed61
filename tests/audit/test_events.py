"""Canonical JSON and the event hash."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import pytest

from core.audit import GENESIS_HASH, AuditEvent, EventDraft, EventKind, canonical_json
from core.audit.errors import InvalidAuditEvent

TS = datetime(2025, 3, 1, 8, 30, 0, 123456, tzinfo=UTC)


def test_canonical_json_sorts_keys_drops_whitespace_and_keeps_utf8() -> None:
    assert canonical_json({"b": 1, "a": ["é", None, 1.5]}) == '{"a":["é",null,1.5],"b":1}'.encode()


@pytest.mark.parametrize("bad", [{"x": float("nan")}, {"x": float("inf")}, {"x": "\ud800"}])
def test_canonical_json_refuses_values_without_one_canonical_form(bad: dict[str, object]) -> None:
    with pytest.raises(InvalidAuditEvent):
        canonical_json(bad)


def test_hash_is_sha256_of_prev_hash_and_canonical_body() -> None:
    draft = EventDraft(kind=EventKind.ACCESS, principal_id="dr-a", payload={"note": "ça va"})
    event = AuditEvent.seal(draft, seq=1, ts=TS, prev_hash=GENESIS_HASH)
    body = event.model_dump(mode="json", exclude={"hash"})
    body["ts"] = "2025-03-01T08:30:00.123456Z"
    expected = hashlib.sha256(
        GENESIS_HASH.encode()
        + json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    ).hexdigest()
    assert event.hash == expected == event.expected_hash()
    assert event.to_record()["ts"] == "2025-03-01T08:30:00.123456Z"


def test_every_field_is_covered_by_the_hash() -> None:
    draft = EventDraft(kind=EventKind.TOOL_CALL, run_id="r", payload={"dose_mg": 5})
    event = AuditEvent.seal(draft, seq=7, ts=TS, prev_hash=GENESIS_HASH)
    for change in (
        {"seq": 8},
        {"payload": {"dose_mg": 50}},
        {"run_id": "other"},
        {"kind": EventKind.KG_QUERY},
        {"prev_hash": "1" * 64},
        {"duration_ms": 1.0},
    ):
        assert event.model_copy(update=change).expected_hash() != event.hash, change


def test_draft_payload_is_made_json_once() -> None:
    draft = EventDraft(kind=EventKind.FINDING_PRODUCED, payload={"at": TS, "refs": ("a", "b")})
    assert draft.payload == {"at": "2025-03-01T08:30:00.123456Z", "refs": ["a", "b"]}


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "not.a.kind"},
        {"kind": "error", "payload": {"x": object()}},
        {"kind": "error", "payload": ["not", "an", "object"]},
        {"kind": "error", "duration_ms": float("nan")},
        {"kind": "error", "event_id": "not-a-uuid"},
    ],
)
def test_invalid_drafts_are_refused(fields: dict[str, object]) -> None:
    with pytest.raises((InvalidAuditEvent, ValueError)):
        EventDraft.model_validate(fields)


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        EventDraft(kind=EventKind.ERROR, ts=datetime(2025, 1, 1))
    with pytest.raises(InvalidAuditEvent):
        AuditEvent.seal(
            EventDraft(kind=EventKind.ERROR),
            seq=1,
            ts=TS.replace(tzinfo=None),
            prev_hash=GENESIS_HASH,
        )
