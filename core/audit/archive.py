"""Retention: closed chain segments exported to JSONL files that verify on their own.

Segment file format (``wardround-audit-segment/1``), UTF-8, one JSON object per line:

* line 1, the header: ``{"format", "from_seq", "through_seq", "prev_hash", "head_hash", "events"}``
  where ``prev_hash`` is the hash the segment's first event links to (``GENESIS_HASH`` or the
  previous segment's ``head_hash``) and ``head_hash`` is the hash of its last event;
* then every event of the segment in ``seq`` order, as ``AuditEvent.to_record()`` in canonical JSON.

``verify_segment(path)`` re-walks the chain inside the file and checks it ends at ``head_hash``.
The store keeps an ``audit_archives`` marker (anchor and head hashes, file digest) and an
``audit.archived`` event in the live chain, so the live chain still verifies after the rows go.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from core.audit.events import BODY_FIELDS, GENESIS_HASH, canonical_json
from core.audit.verify import ChainFault, ChainWalker, Locator, Row, VerifyReport
from core.errors import DataFileError

SEGMENT_FORMAT = "wardround-audit-segment/1"


class ArchiveMarker(BaseModel):
    model_config = ConfigDict(frozen=True)

    from_seq: int
    through_seq: int
    prev_hash: str
    head_hash: str
    file_name: str
    file_sha256: str
    event_id: str
    ts: str


class SegmentSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    from_seq: int
    through_seq: int
    prev_hash: str
    head_hash: str
    file_sha256: str


def write_segment(
    rows: Iterable[Row], path: Path, *, from_seq: int, prev_hash: str, locator: Locator
) -> SegmentSummary:
    """Verify ``rows`` as they stream and write them as a segment file (atomically replaced).

    Raises ``AuditChainBroken`` (nothing is written) if the segment does not verify.
    """
    walker = ChainWalker(locator, start_seq=from_seq, prev_hash=prev_hash)
    part = path.with_name(path.name + ".part")
    with part.open("wb") as body:
        for row in rows:
            fault = walker.step(row)
            if fault is not None:
                body.close()
                part.unlink()
                _report(walker, fault).raise_for_fault()
            body.write(canonical_json({k: row[k] for k in _RECORD_KEYS}) + b"\n")
    header = {
        "format": SEGMENT_FORMAT,
        "from_seq": from_seq,
        "through_seq": walker.expected_seq - 1,
        "prev_hash": prev_hash,
        "head_hash": walker.prev_hash,
        "events": walker.count,
    }
    digest = _assemble(path, part, canonical_json(header) + b"\n")
    return SegmentSummary(
        from_seq=from_seq,
        through_seq=walker.expected_seq - 1,
        prev_hash=prev_hash,
        head_hash=walker.prev_hash,
        file_sha256=digest,
    )


_RECORD_KEYS = (*BODY_FIELDS, "hash")


def _assemble(path: Path, part: Path, header: bytes) -> str:
    digest = hashlib.sha256(header)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as out, part.open("rb") as body:
        out.write(header)
        while chunk := body.read(1 << 20):
            digest.update(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)
    part.unlink()
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def verify_segment(path: Path) -> VerifyReport:
    """Verify an archived segment file on its own: header, chain, head hash."""
    header, records = _read_segment(path)
    by_hash = {str(r["hash"]): r for r in records}
    by_prev = {str(r["prev_hash"]): r for r in records}
    walker = ChainWalker(
        Locator(by_hash.get, by_prev.get),
        start_seq=int(header["from_seq"]),
        prev_hash=str(header.get("prev_hash", GENESIS_HASH)),
    )
    for record in records:
        fault = walker.step(record)
        if fault is not None:
            return _report(walker, fault)
    through = int(header["through_seq"])
    if walker.expected_seq - 1 != through or walker.prev_hash != header["head_hash"]:
        fault = ChainFault(
            problem="missing",
            seq=walker.expected_seq,
            event_id=None,
            detail=f"segment ends at seq {walker.expected_seq - 1} but its header says {through}"
            " (or its head hash differs)",
        )
        return _report(walker, fault)
    return _report(walker, None)


def _read_segment(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    try:
        parsed = [json.loads(line) for line in lines if line.strip()]
    except ValueError as exc:
        raise DataFileError(f"not JSON lines: {exc}", file=str(path)) from exc
    if not parsed or not isinstance(parsed[0], dict) or parsed[0].get("format") != SEGMENT_FORMAT:
        raise DataFileError(f"not a {SEGMENT_FORMAT} file", file=str(path))
    return parsed[0], parsed[1:]


def _report(walker: ChainWalker, fault: ChainFault | None) -> VerifyReport:
    return VerifyReport(
        events_checked=walker.count,
        first_seq=walker.first_seq,
        head_seq=walker.expected_seq - 1 if walker.count else None,
        head_hash=walker.prev_hash,
        fault=fault,
    )
