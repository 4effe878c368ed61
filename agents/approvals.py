"""The approval protocol, in one place: nothing is recorded without a clinician on the ward.

A ward round proposes writes deterministically (``propose``): activating an order that someone
drafted (``MedicationRequest`` with intent ``proposal``), and for an active medication implicated
in a high-severity rule finding, the finding's remedy (hold it, or adjust its dose). The graph
pauses on them (LangGraph ``interrupt``); ``pending_proposals(snapshot)`` says what a thread waits
on, and ``validate_resume`` is the one check of a clinician's decisions (the thread waits, the
approver is a clinician on the patient's ward, each pending proposal decided exactly once), run
by the routes, ``graphs.run.resume`` and the approve step alike. A taken decision is a
``RecordedDecision`` with its ``decision_id``; approved proposals (with any edits) go to the
``Outbox``, which writes each decision id once; a rejected proposal never takes effect. A
decided proposal is not asked again while the facts behind it stand (``agents.approval_memory``).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any, Literal, Protocol

import yaml
from langgraph.types import StateSnapshot
from pydantic import BaseModel, Field

from core.domain import Finding, Medication, PatientRecord, Severity
from core.errors import DataFileError, Forbidden, InvalidInput, WardroundError
from core.settings import SHIPPED_DATA

ProposalKind = Literal["activate_order", "hold_medication", "adjust_dose"]


class Proposal(BaseModel):
    id: str
    kind: ProposalKind
    summary: str
    target: str = Field(description="the FHIR reference the write would change")
    because: list[str] = Field(default_factory=list, description="finding ids behind it")
    changed: str = Field(
        default="",
        exclude_if=lambda changed: not changed,
        description="proposed again on a thread that decided it before: the decision, and "
        "what changed since (``agents.approval_memory``); absent for a first proposal",
    )


class Approver(BaseModel):
    id: str
    name: str = ""
    role: Literal["clinician", "auditor", "admin"]
    wards: list[str] = Field(default_factory=list)


class Verdict(BaseModel):
    """A clinician's verdict on one proposal."""

    decision: Literal["approve", "reject"]
    comment: str = Field(default="", max_length=2000)
    edits: dict[str, Any] | None = Field(default=None, description="changes to the proposal")


class Decision(Verdict):
    """A verdict on a named proposal."""

    proposal_id: str = Field(min_length=1, max_length=200)


class ApprovalResume(BaseModel):
    """What resumes a paused round: one clinician's decisions on every pending proposal."""

    approver: Approver
    decisions: list[Decision]


class RecordedDecision(Decision):
    """A decision as the round took it: who, when, exactly what (``digest``), its id, and once
    written, where (``recorded_as``)."""

    approver: str
    approver_name: str = ""
    digest: str
    decided_at: str
    decision_id: str = ""
    run_id: str = ""
    recorded_as: list[str] = Field(default_factory=list)


class NothingToApprove(InvalidInput):
    http_status = 409
    title = "Nothing to approve"


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


STOP_FIRST_FILE = SHIPPED_DATA / "cards" / "suggestions.yaml"


@cache
def stop_first(path: Path = STOP_FIRST_FILE) -> frozenset[str]:
    """The interaction subjects ('class:nsaid', 'potassium chloride') held first, before their
    partners (``data/cards/suggestions.yaml``)."""
    try:
        rows = yaml.safe_load(path.read_text(encoding="utf-8"))["stop_first"]
        return frozenset(str(row["subject"]) for row in rows if row.get("because"))
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise DataFileError(
            f"expected stop_first: [{{subject, because}}]: {exc}", file=str(path)
        ) from exc


def _subjects(finding: Finding) -> dict[str, str]:
    """An interaction's drugs with the subject the KG fact names each by: 'kg:INTERACTS_WITH/
    class:nsaid|class:ace-inhibitor|class:diuretic' over (ibuprofen, lisinopril, furosemide)."""
    ref = next((c.ref for c in finding.citations if "INTERACTS_WITH/" in c.ref), "")
    parts = ref.partition("INTERACTS_WITH/")[2].split("|")
    return dict(zip(finding.drugs, parts, strict=False)) if len(parts) == len(finding.drugs) else {}


def _held_first(med: Medication, serious: list[Finding]) -> bool:
    """The offending drug: a serious finding of its own (not an interaction) asks to hold it, or an
    interaction it is in names it to stop first."""
    own = [f for f in serious if f.kind != "interaction" and _names(f, med)]
    if own and not all(f.remedy == "adjust_dose" for f in own):
        return True
    first = stop_first()
    return any(
        subject in first and drug.lower() in med.name.lower()
        for f in serious
        if f.kind == "interaction"
        for drug, subject in _subjects(f).items()
    )


def _partners_to_review(
    meds: list[Medication], serious: list[Finding]
) -> dict[str, list[Medication]]:
    """Holding the offending drug of an interaction resolves it: a partner held for nothing but
    interactions with drugs being held anyway is reviewed, not held (an NSAID in AKI is held;
    the ACE inhibitor and diuretic it interacts with are reviewed). By offender: its partners."""
    offenders = [m for m in meds if _held_first(m, serious)]
    review: dict[str, list[Medication]] = {}
    for med in meds:
        causes = [f for f in serious if _names(f, med)]
        if med in offenders or not causes or any(f.kind != "interaction" for f in causes):
            continue
        holders = [[o for o in offenders if o.ref != med.ref and _names(f, o)] for f in causes]
        if all(holders):
            review.setdefault(holders[0][0].ref, []).append(med)
    return review


def _drug_name(med: Medication, findings: list[Finding]) -> str:
    """The drug as the findings name it ('lisinopril'), else the medication's text."""
    return next((d for f in findings for d in f.drugs if d.lower() in med.name.lower()), med.name)


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
    active = [m for m in record.active_medications() if not m.proposed]
    review = _partners_to_review(active, serious)
    spared = {m.ref for meds in review.values() for m in meds}
    for med in active:
        causes = [f for f in serious if _names(f, med)]
        if not causes or med.ref in spared:
            continue
        # a renal dose adjustment alone asks for a new dose, not for stopping the drug
        adjust = all(f.remedy == "adjust_dose" for f in causes)
        partners = review.get(med.ref, [])
        named = ", ".join(_drug_name(m, serious) for m in partners)
        then = f" (then review {named})" if partners else ""
        proposals.append(
            Proposal(
                id=f"{'adjust' if adjust else 'hold'}:{med.ref}",
                kind="adjust_dose" if adjust else "hold_medication",
                summary=f"{'Adjust the dose of' if adjust else 'Hold'} {med.name}{then}",
                target=med.ref,
                because=[f.id for f in causes],
            )
        )
    return proposals


def pending_proposals(snapshot: StateSnapshot) -> list[Proposal]:
    """The proposals a paused round waits on (empty when the thread does not wait)."""
    pending: list[Proposal] = []
    for paused in snapshot.interrupts:
        value = paused.value if isinstance(paused.value, dict) else {}
        pending.extend(Proposal.model_validate(p) for p in value.get("proposals") or [])
    return pending


def ward_of(values: dict[str, Any]) -> str:
    """The patient's ward in a round's state: who may decide its proposals."""
    return str(((values.get("record") or {}).get("patient") or {}).get("ward") or "")


def validate_resume(resume: ApprovalResume, *, ward: str, pending: Sequence[Proposal]) -> None:
    """The one check of a decision, before it is taken: the round waits on ``pending``; only a
    clinician on the patient's ``ward`` decides; each pending proposal is decided exactly once
    (the round resumes once, so a proposal left out would end the round undecided)."""
    if not pending:
        raise NothingToApprove("the thread is not waiting for a decision")
    approver = resume.approver
    if approver.role != "clinician":
        raise Forbidden(f"a {approver.role} cannot approve clinical writes")
    if ward not in approver.wards:
        raise Forbidden(f"{approver.id} is not on ward {ward or '(none)'}")
    named = [d.proposal_id for d in resume.decisions]
    waiting = {p.id for p in pending}
    problems = [
        f"{what}: {', '.join(ids)}"
        for what, ids in (
            ("repeated", sorted({pid for pid in named if named.count(pid) > 1})),
            ("not pending", sorted(set(named) - waiting)),
            ("missing", [p.id for p in pending if p.id not in named]),
        )
        if ids
    ]
    if problems:
        raise InvalidInput("decisions: decide every pending proposal once; " + "; ".join(problems))
