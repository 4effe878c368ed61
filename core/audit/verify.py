"""Walking a hash chain and naming the first event that does not fit.

The walker sees events in ``seq`` order and classifies the first fault:

* ``missing``: a ``seq`` is absent (a deleted row), or the chain ends before a signed checkpoint;
* ``reordered``: an event is intact (its hash matches its content) but was written at another
  ``seq`` than the one it is found at (rows swapped);
* ``altered``: an event's content no longer matches its hash, or the event a later one links to was
  replaced by a different, self-consistent one;
* ``checkpoint`` / ``archive``: a signature or archive marker does not match the chain.

Reordering is told apart from alteration by finding the position the event was hashed at, from its
neighbours in the chain (``Locator``): the row holding its ``prev_hash``, the row linking to its
``hash``, or, one step further, where its predecessor itself was written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from core.audit.errors import AuditChainBroken
from core.audit.events import GENESIS_HASH, chain_hash, event_body

Problem = Literal["altered", "missing", "reordered", "checkpoint", "archive"]
Row = Mapping[str, Any]
"""An event as stored: column values, ``payload`` already parsed from its JSON text."""


class ChainFault(BaseModel):
    model_config = ConfigDict(frozen=True)

    problem: Problem
    seq: int | None
    event_id: str | None
    detail: str


class VerifyReport(BaseModel):
    """The outcome of a verification; ``fault`` names the first bad event, ``None`` when intact."""

    model_config = ConfigDict(frozen=True)

    events_checked: int
    first_seq: int | None = None
    head_seq: int | None = None
    head_hash: str = GENESIS_HASH
    checkpoints_verified: int = 0
    checkpoints_unchecked: int = 0
    archived_segments: int = 0
    fault: ChainFault | None = None

    @property
    def ok(self) -> bool:
        return self.fault is None

    def describe(self) -> str:
        if self.fault is None and not self.events_checked:
            return "chain intact: no live events"
        if self.fault is None:
            return (
                f"chain intact: {self.events_checked} events"
                f" (seq {self.first_seq}..{self.head_seq}),"
                f" {self.checkpoints_verified} checkpoints verified,"
                f" {self.checkpoints_unchecked} unchecked,"
                f" {self.archived_segments} archived segments"
            )
        f = self.fault
        return f"{f.problem} at seq {f.seq} (event {f.event_id}): {f.detail}"

    def raise_for_fault(self) -> None:
        if self.fault is not None:
            raise AuditChainBroken(
                self.describe(), seq=self.fault.seq, event_id=self.fault.event_id
            )


class Locator:
    """Finds rows by ``hash`` / ``prev_hash`` so a misplaced event's true ``seq`` can be found."""

    def __init__(
        self,
        by_hash: Callable[[str], Row | None],
        by_prev_hash: Callable[[str], Row | None],
    ) -> None:
        self._by_hash = by_hash
        self._by_prev_hash = by_prev_hash

    def written_at(self, row: Row, depth: int = 0) -> int | None:
        """The ``seq`` at which this row's content hashes to its stored hash, if any nearby."""
        candidates = [int(row["seq"])]
        if row["prev_hash"] == GENESIS_HASH:
            candidates.append(1)
        pred = self._by_hash(str(row["prev_hash"]))
        if pred is not None:
            candidates.append(int(pred["seq"]) + 1)
            if depth < 2:
                pred_seq = self.written_at(pred, depth + 1)
                if pred_seq is not None:
                    candidates.append(pred_seq + 1)
        succ = self._by_prev_hash(str(row["hash"]))
        if succ is not None:
            candidates.append(int(succ["seq"]) - 1)
        return next((c for c in candidates if hash_at(row, c) == row["hash"]), None)


def hash_at(row: Row, seq: int) -> str | None:
    try:
        return chain_hash(str(row["prev_hash"]), event_body({**row, "seq": seq}))
    except Exception:  # a field edited into something that no longer serialises
        return None


class ChainWalker:
    """Feed rows in ``seq`` order to ``step``; it returns the first fault it finds."""

    def __init__(self, locator: Locator, *, start_seq: int = 1, prev_hash: str = GENESIS_HASH):
        self.locator = locator
        self.expected_seq = start_seq
        self.prev_hash = prev_hash
        self.prev_event_id: str | None = None
        self.count = 0
        self.first_seq: int | None = None

    def step(self, row: Row) -> ChainFault | None:
        seq, event_id = int(row["seq"]), str(row["event_id"])
        fault = self._classify(row, seq, event_id)
        if fault is None:
            self.count += 1
            self.first_seq = seq if self.first_seq is None else self.first_seq
            self.prev_hash, self.prev_event_id = str(row["hash"]), event_id
            self.expected_seq = seq + 1
        return fault

    def _classify(self, row: Row, seq: int, event_id: str) -> ChainFault | None:
        if seq < self.expected_seq:
            return ChainFault(
                problem="reordered",
                seq=seq,
                event_id=event_id,
                detail=f"seq {seq} found after seq {self.expected_seq - 1}",
            )
        if seq > self.expected_seq:
            gap = f"{self.expected_seq}..{seq - 1}" if seq - 1 > self.expected_seq else seq - 1
            return ChainFault(
                problem="missing",
                seq=self.expected_seq,
                event_id=None,
                detail=f"event(s) at seq {gap} missing; chain resumes at seq {seq} ({event_id})",
            )
        if hash_at(row, seq) != row["hash"]:
            written = self.locator.written_at(row)
            if written is not None and written != seq:
                return ChainFault(
                    problem="reordered",
                    seq=seq,
                    event_id=event_id,
                    detail=f"event {event_id} was written at seq {written}, is found at seq {seq}",
                )
            return ChainFault(
                problem="altered",
                seq=seq,
                event_id=event_id,
                detail="the event's content does not match its hash",
            )
        if row["prev_hash"] != self.prev_hash:
            return ChainFault(
                problem="altered",
                seq=seq - 1,
                event_id=self.prev_event_id,
                detail=f"event at seq {seq} ({event_id}) links to a different predecessor: "
                "the event at the previous seq was replaced or its segment anchor does not match",
            )
        return None
