"""Proposed writes and their approval: nothing is recorded without a clinician on the ward.

A ward round proposes writes deterministically: activating an order that someone drafted
(``MedicationRequest`` with intent ``proposal``), and holding an active medication implicated in a
high-severity rule finding. The graph pauses on them (LangGraph ``interrupt``); it resumes only
with an ``ApprovalResume`` whose approver is a clinician on the patient's ward. Approved
proposals (with any edits) go to the outbox; a rejected proposal never takes effect.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

from agents.kg_checks import DOSE_ADJUSTMENT
from core.domain import Finding, Medication, PatientRecord, Severity
from core.errors import Forbidden, InvalidInput, WardroundError

ProposalKind = Literal["activate_order", "hold_medication", "adjust_dose"]


class Proposal(BaseModel):
    id: str
    kind: ProposalKind
    summary: str
    target: str = Field(description="the FHIR reference the write would change")
    because: list[str] = Field(default_factory=list, description="finding ids behind it")


class Approver(BaseModel):
    id: str
    name: str = ""
    role: Literal["clinician", "auditor", "admin"]
    wards: list[str] = Field(default_factory=list)


class Decision(BaseModel):
    proposal_id: str
    decision: Literal["approve", "reject"]
    comment: str = ""
    edits: dict[str, Any] | None = None


class ApprovalResume(BaseModel):
    approver: Approver
    decisions: list[Decision]


class DecisionNotRecorded(WardroundError):
    """A decision was taken but could not be recorded (the outbox or the audit store refused it):
    nothing was written, and the round waits for a decision again. The status and title are the
    refusing part's (``FhirWriteFailed``: 502) where it said; 503 otherwise."""

    http_status = 503
    title = "Decision not recorded"

    def __init__(self, message: str, *, http_status: int = 503, title: str = "") -> None:
        super().__init__(message)
        self.http_status = http_status
        self.title = title or type(self).title


def decision_id(thread_id: str, proposal_id: str, attempt: int) -> str:
    """One decision attempt on one proposal of one thread always has the same id, so the outbox
    recognises a replay (the step ran again after a crash) and never writes it twice; a new
    attempt (a new pause, or one after a failed decision) gets a new id."""
    body = f"{thread_id}\n{proposal_id}\n{attempt}".encode()
    return "dec-" + hashlib.sha256(body).hexdigest()[:24]


class Outbox(Protocol):
    """Where approved writes go (a FHIR server: ``tools.fhir.outbox``, a file, an order queue).

    ``write`` takes everything approved in one decision (each ``{"proposal", "decision",
    "approver", "digest", "decided_at", "decision_id", "thread_id", "run_id", ...}``) and records
    it together or raises: a write that raises leaves the approval pending, to be decided again.
    It is idempotent on ``decision_id``: an item already recorded under its id (the same decision
    replayed after a crash) is not written again, and its receipt is returned. It returns, for
    each item, where it was recorded (FHIR locations with their versions, or the file), for the
    audit trail."""

    async def write(self, items: Sequence[dict[str, Any]]) -> list[list[str]]: ...


class JsonlOutbox:
    """Approved writes as JSON lines in a file: the embedded default. Each line carries its
    ``decision_id``, ``thread_id`` and ``run_id``; a decision already in the file is skipped."""

    def __init__(self, path: Path) -> None:
        self.path = path

    async def write(self, items: Sequence[dict[str, Any]]) -> list[list[str]]:
        await asyncio.to_thread(self._append, items)
        return [[f"file:{self.path.name}"] for _ in items]

    def recorded(self) -> set[str]:
        """The decision ids already in the file (a line cut short by a crash is not one)."""
        if not self.path.exists():
            return set()
        ids: set[str] = set()
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                ids.add(str(json.loads(line).get("decision_id") or ""))
            except (json.JSONDecodeError, AttributeError):
                continue
        return ids

    def _append(self, items: Sequence[dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        done = self.recorded()
        new = [i for i in items if not i.get("decision_id") or i["decision_id"] not in done]
        if not new:
            return
        lines = "".join(json.dumps(i, ensure_ascii=False, sort_keys=True) + "\n" for i in new)
        with self.path.open("a+b") as fh:
            if fh.tell() and _last_byte(fh) != b"\n":
                lines = "\n" + lines  # a crash cut the last line short: start a fresh one
            fh.write(lines.encode())
            fh.flush()
            os.fsync(fh.fileno())


def _last_byte(fh: Any) -> bytes:
    fh.seek(-1, os.SEEK_END)
    last: bytes = fh.read(1)
    fh.seek(0, os.SEEK_END)
    return last


def digest(proposal: dict[str, Any], edits: dict[str, Any] | None) -> str:
    """What exactly was approved: sha256 of the proposal and its edits, canonical JSON."""
    body = json.dumps({"proposal": proposal, "edits": edits}, sort_keys=True, ensure_ascii=False)
    return "sha256:" + hashlib.sha256(body.encode()).hexdigest()


def _names(finding: Finding, med: Medication) -> bool:
    """The finding names the medication's drug ('enoxaparin' in 'enoxaparin sodium 40 MG...')."""
    return any(drug.lower() in med.name.lower() for drug in finding.drugs)


def propose(record: PatientRecord, findings: list[Finding]) -> list[Proposal]:
    proposals = [
        Proposal(
            id=f"activate:{m.ref}",
            kind="activate_order",
            summary=f"Activate the proposed order: {m.name} {m.dose}".strip(),
            target=m.ref,
            because=[f.id for f in findings if _names(f, m)],
        )
        for m in record.medications
        if m.proposed
    ]
    serious = [
        f for f in findings
        if f.origin == "rule" and f.severity.rank >= Severity.high.rank and f.drugs
    ]  # fmt: skip
    for med in record.active_medications():
        if med.proposed:
            continue
        causes = [f.id for f in serious if _names(f, med)]
        if not causes:
            continue
        # a renal dose adjustment alone asks for a new dose, not for stopping the drug
        adjust = all(c.startswith(f"{DOSE_ADJUSTMENT}:") for c in causes)
        proposals.append(
            Proposal(
                id=f"{'adjust' if adjust else 'hold'}:{med.ref}",
                kind="adjust_dose" if adjust else "hold_medication",
                summary=f"{'Adjust the dose of' if adjust else 'Hold'} {med.name}",
                target=med.ref,
                because=causes,
            )
        )
    return proposals


def check_approver(approver: Approver, ward: str) -> None:
    """Only a clinician on the patient's ward may decide."""
    if approver.role != "clinician":
        raise Forbidden(f"a {approver.role} cannot approve clinical writes")
    if ward not in approver.wards:
        raise Forbidden(f"{approver.id} is not on ward {ward or '(none)'}")


def check_decisions(resume: ApprovalResume, proposals: list[dict[str, Any]]) -> None:
    """Each pending proposal decided exactly once: the round resumes once, so a proposal left
    out would end the round undecided (the server's per-proposal route refuses that too)."""
    known = {p["id"] for p in proposals}
    named = [d.proposal_id for d in resume.decisions]
    unknown = [pid for pid in named if pid not in known]
    if unknown:
        raise InvalidInput(f"no such proposal on this thread: {', '.join(unknown)}")
    repeated = sorted({pid for pid in named if named.count(pid) > 1})
    if repeated:
        raise InvalidInput(f"proposal decided more than once: {', '.join(repeated)}")
    missing = [p["id"] for p in proposals if p["id"] not in named]
    if missing:
        raise InvalidInput(f"each pending proposal needs a decision; missing: {', '.join(missing)}")
