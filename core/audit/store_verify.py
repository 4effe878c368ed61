"""Verifying a whole store: archive markers, the live chain, and signed checkpoints."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from core.audit.archive import ArchiveMarker, file_sha256, verify_segment
from core.audit.events import GENESIS_HASH
from core.audit.rows import db_locator, iter_rows, parsed
from core.audit.schema import archives, checkpoints, events
from core.audit.signing import signature_valid
from core.audit.verify import ChainFault, ChainWalker, VerifyReport

_MARKER_FIELDS = ("from_seq", "through_seq", "prev_hash", "head_hash", "file_sha256", "file_name")


class _Checkpoints:
    """Signed heads by ``seq``; checked as the walk reaches each one."""

    def __init__(self, conn: Connection, key: bytes | None) -> None:
        self.key = key
        self.by_seq: dict[int, list[Any]] = defaultdict(list)
        for row in conn.execute(select(checkpoints).order_by(checkpoints.c.id)):
            self.by_seq[int(row.seq)].append(row)
        self.verified = 0
        self.unchecked = 0

    def check(self, seq: int, head_hash: str | None) -> ChainFault | None:
        """Check the checkpoints at ``seq`` against ``head_hash`` (``None``: hash not known)."""
        for cp in self.by_seq.pop(seq, []):
            if head_hash is not None and cp.head_hash != head_hash:
                return ChainFault(
                    problem="checkpoint",
                    seq=seq,
                    event_id=None,
                    detail=f"the chain at seq {seq} differs from signed checkpoint #{cp.id}: "
                    "events at or before it were rewritten",
                )
            if self.key is None:
                self.unchecked += 1
                continue
            if not signature_valid(
                self.key, cp.signature, seq=seq, head_hash=cp.head_hash, ts=cp.ts
            ):
                return ChainFault(
                    problem="checkpoint",
                    seq=seq,
                    event_id=None,
                    detail=f"checkpoint #{cp.id} signature does not verify with the configured key",
                )
            self.verified += 1
        return None

    def beyond(self, head_seq: int) -> ChainFault | None:
        """A checkpoint past the chain's end means its tail was cut off."""
        later = sorted(s for s in self.by_seq if s > head_seq)
        if not later:
            return None
        return ChainFault(
            problem="missing",
            seq=head_seq + 1,
            event_id=None,
            detail=f"the chain ends at seq {head_seq} but a checkpoint signed seq {later[0]}",
        )


def verify_store(
    conn: Connection, key: bytes | None, *, check_archive_files: bool = False
) -> VerifyReport:
    markers = [
        ArchiveMarker.model_validate(dict(row._mapping))
        for row in conn.execute(select(archives).order_by(archives.c.through_seq))
    ]
    cps = _Checkpoints(conn, key)
    start_seq, prev_hash = 1, GENESIS_HASH
    if markers:
        start_seq, prev_hash = markers[-1].through_seq + 1, markers[-1].head_hash
    walker = ChainWalker(db_locator(conn), start_seq=start_seq, prev_hash=prev_hash)
    fault = _archive_fault(conn, markers, cps, check_archive_files)
    if fault is None:
        fault = _walk(conn, walker, cps)
    if fault is None:
        fault = cps.beyond(walker.expected_seq - 1)
    return VerifyReport(
        events_checked=walker.count,
        first_seq=walker.first_seq,
        head_seq=walker.expected_seq - 1 if walker.count else None,
        head_hash=walker.prev_hash,
        checkpoints_verified=cps.verified,
        checkpoints_unchecked=cps.unchecked,
        archived_segments=len(markers),
        fault=fault,
    )


def _walk(conn: Connection, walker: ChainWalker, cps: _Checkpoints) -> ChainFault | None:
    for row in iter_rows(conn):
        fault = walker.step(row) or cps.check(int(row["seq"]), str(row["hash"]))
        if fault is not None:
            return fault
    return None


def _archive_fault(
    conn: Connection, markers: list[ArchiveMarker], cps: _Checkpoints, check_files: bool
) -> ChainFault | None:
    expected_from, expected_prev = 1, GENESIS_HASH
    for marker in markers:
        if marker.from_seq != expected_from or marker.prev_hash != expected_prev:
            return _marker_fault(marker, "does not continue the previous archived segment")
        expected_from, expected_prev = marker.through_seq + 1, marker.head_hash
        for seq in [s for s in cps.by_seq if s <= marker.through_seq]:
            known = marker.head_hash if seq == marker.through_seq else None
            if (fault := cps.check(seq, known)) is not None:
                return fault
        if check_files and (fault := _file_fault(marker)) is not None:
            return fault
    if markers:
        return _recorded_in_chain(conn, markers[-1])
    return None


def _recorded_in_chain(conn: Connection, marker: ArchiveMarker) -> ChainFault | None:
    """The newest marker must match the ``audit.archived`` event written with it."""
    row = conn.execute(select(events).where(events.c.event_id == marker.event_id)).first()
    payload = parsed(row)["payload"] if row is not None else None
    if not isinstance(payload, dict) or any(
        payload.get(k) != getattr(marker, k) for k in _MARKER_FIELDS
    ):
        return _marker_fault(marker, "has no matching audit.archived event in the chain")
    return None


def _file_fault(marker: ArchiveMarker) -> ChainFault | None:
    path = Path(marker.file_name)
    if not path.is_file():
        return _marker_fault(marker, f"file {path.name} not found")
    if file_sha256(path) != marker.file_sha256:
        return _marker_fault(marker, f"file {path.name} differs from the archived digest")
    report = verify_segment(path)
    return report.fault


def _marker_fault(marker: ArchiveMarker, what: str) -> ChainFault:
    return ChainFault(
        problem="archive",
        seq=marker.from_seq,
        event_id=marker.event_id,
        detail=f"archived segment {marker.from_seq}..{marker.through_seq} {what}",
    )
