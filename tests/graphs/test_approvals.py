"""Proposed writes pause the round; only a clinician on the patient's ward can decide them."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from agents.approvals import (
    ApprovalResume,
    Approver,
    Decision,
    DecisionNotRecorded,
    JsonlOutbox,
    NothingToApprove,
    Outbox,
    propose,
)
from core.audit import AuditStore, EventKind
from core.audit.errors import AuditError
from core.errors import Forbidden, InvalidInput
from core.settings import SHIPPED_DATA
from graphs.checkpoint import serde
from graphs.run import ask, resume
from graphs.ward_round import build_ward_round
from tests.conftest import DepsFactory
from tests.graphs.test_ward_round import NOW, ward_model
from tools.fhir.sources import DirectoryPatientSource

PATIENT = (
    "penicillin-allergy-betalactam"  # ward 7A; co-amoxiclav proposed despite penicillin allergy
)
ORDER = "MedicationRequest/penicillin-allergy-betalactam-medreq-1"
DR_LIN = Approver(id="dr-lin", name="Dr Lin", role="clinician", wards=["7A"])


@pytest.fixture
def outbox(tmp_path: Path) -> JsonlOutbox:
    return JsonlOutbox(tmp_path / "outbox.jsonl")


def approval_graph(round_deps: DepsFactory, scripted_model: Any, outbox: Outbox) -> Any:
    """The ward round over the shipped patients and the scripted ward model, writing approved
    proposals to ``outbox``."""
    _, client = scripted_model(ward_model)
    deps = round_deps(
        patients=DirectoryPatientSource(SHIPPED_DATA / "patients", clock=lambda: NOW),
        model=client,
        clock=lambda: NOW,
        outbox=outbox,
    )
    return build_ward_round(deps, InMemorySaver(serde=serde()))


@pytest.fixture
def graph(round_deps, scripted_model, outbox):
    return approval_graph(round_deps, scripted_model, outbox)


def decide(decision: str, approver: Approver = DR_LIN, **edits: object) -> ApprovalResume:
    return ApprovalResume(
        approver=approver,
        decisions=[
            Decision(proposal_id=f"activate:{ORDER}", decision=decision, edits=edits or None)
        ],  # type: ignore[arg-type]
    )


def outbox_items(outbox: JsonlOutbox) -> list[dict[str, object]]:
    if not outbox.path.exists():
        return []
    return [json.loads(line) for line in outbox.path.read_text().splitlines()]


async def test_a_proposed_order_pauses_the_round(graph) -> None:
    result = await ask(graph, patient_id=PATIENT, question="Can we give the co-amoxiclav?")
    assert result.pending_approval is True
    assert [p.id for p in result.proposals] == [f"activate:{ORDER}"]
    assert result.answer  # the answer is there while the write waits


@pytest.mark.parametrize(
    ("approver", "why"),
    [
        (Approver(id="aud-1", role="auditor", wards=["7A"]), "auditor cannot approve"),
        (Approver(id="dr-wu", role="clinician", wards=["5A"]), "not on ward 7A"),
    ],
)
async def test_only_a_clinician_on_the_ward_may_decide(graph, outbox, approver, why) -> None:
    result = await ask(graph, patient_id=PATIENT, question="Can we give the co-amoxiclav?")
    with pytest.raises(Forbidden, match=why):
        await resume(graph, thread_id=result.thread_id, decision=decide("approve", approver))
    assert outbox_items(outbox) == []
    still = await graph.aget_state({"configurable": {"thread_id": result.thread_id}})
    assert still.interrupts  # still waiting


async def test_a_rejected_proposal_never_takes_effect(graph, outbox) -> None:
    result = await ask(graph, patient_id=PATIENT, question="Can we give the co-amoxiclav?")
    done = await resume(graph, thread_id=result.thread_id, decision=decide("reject"))
    assert done.pending_approval is False
    assert [d.decision for d in done.decisions] == ["reject"]
    assert outbox_items(outbox) == []


async def test_an_approved_edit_is_written_with_its_digest(tmp_path: Path, graph, outbox) -> None:
    store = AuditStore.open(f"sqlite:///{tmp_path / 'audit.sqlite'}")
    result = await ask(graph, patient_id=PATIENT, question="Can we give it?", audit=store)
    done = await resume(
        graph,
        thread_id=result.thread_id,
        decision=decide("approve", dose="clindamycin 300 mg instead"),
        audit=store,
    )
    [item] = outbox_items(outbox)
    assert item["approver"] == "dr-lin"
    assert item["edits"] == {"dose": "clindamycin 300 mg instead"}
    assert str(item["digest"]).startswith("sha256:")
    events = await store.events(run_id=done.run_id)
    decided = [e for e in events if e.kind == EventKind.APPROVAL_DECIDED]
    assert decided[0].payload["digest"] == item["digest"]
    assert decided[0].principal_id == "dr-lin"
    assert (await store.verify()).ok
    store.close()


async def test_unknown_proposal_or_idle_thread_is_refused(graph) -> None:
    result = await ask(graph, patient_id=PATIENT, question="Can we give it?")
    bad = ApprovalResume(approver=DR_LIN, decisions=[Decision(proposal_id="x", decision="approve")])
    with pytest.raises(InvalidInput, match="not pending: x"):
        await resume(graph, thread_id=result.thread_id, decision=bad)
    await resume(graph, thread_id=result.thread_id, decision=decide("reject"))
    with pytest.raises(InvalidInput, match="not waiting"):
        await resume(graph, thread_id=result.thread_id, decision=decide("approve"))


async def test_a_resume_must_decide_each_proposal_exactly_once(graph, outbox) -> None:
    result = await ask(graph, patient_id=PATIENT, question="Can we give it?")
    twice = ApprovalResume(
        approver=DR_LIN,
        decisions=[
            Decision(proposal_id=f"activate:{ORDER}", decision="approve"),
            Decision(proposal_id=f"activate:{ORDER}", decision="reject"),
        ],
    )
    with pytest.raises(InvalidInput, match="repeated: activate:"):
        await resume(graph, thread_id=result.thread_id, decision=twice)
    none = ApprovalResume(approver=DR_LIN, decisions=[])
    with pytest.raises(InvalidInput, match="missing: activate:"):
        await resume(graph, thread_id=result.thread_id, decision=none)
    assert outbox_items(outbox) == []  # nothing took effect, and the thread still waits
    done = await resume(graph, thread_id=result.thread_id, decision=decide("approve"))
    assert done.pending_approval is False
    assert len(outbox_items(outbox)) == 1


async def test_a_renal_dose_adjustment_proposes_a_new_dose_not_a_hold(
    scripted_model, curated_kg, round_deps
) -> None:
    _, client = scripted_model(ward_model)
    source = DirectoryPatientSource(SHIPPED_DATA / "patients", clock=lambda: NOW)
    with_kg = build_ward_round(
        round_deps(patients=source, model=client, clock=lambda: NOW, graph_store=curated_kg),
        InMemorySaver(serde=serde()),
    )
    result = await ask(with_kg, patient_id="postop-vte-prophylaxis", question="Enoxaparin dose?")
    adjust = [f for f in result.findings if f.id.startswith("dose_adjustment:")]
    assert [f.drugs for f in adjust] == [("enoxaparin",)]
    assert adjust[0].severity.value == "high"
    assert "dose adjustment needed" in adjust[0].summary
    assert adjust[0].remedy == "adjust_dose"  # typed: the proposal does not parse the id
    assert all(f.remedy is None for f in result.findings if f not in adjust)
    enoxaparin = "MedicationRequest/postop-vte-prophylaxis-medreq-3"
    by_target = {p.target: p for p in result.proposals}
    # here the enoxaparin is itself a proposed order: approving it is the decision, and the
    # proposal says which finding stands against it as drafted
    assert by_target[enoxaparin].kind == "activate_order"
    assert adjust[0].id in by_target[enoxaparin].because
    assert not any(p.kind == "hold_medication" for p in result.proposals)
    # were it already running, the round would propose a new dose, not stopping it
    record = await source.load("postop-vte-prophylaxis")
    running = record.model_copy(
        update={
            "medications": tuple(
                m.model_copy(update={"proposed": False, "status": "active"})
                for m in record.medications
            )
        }
    )
    proposals = {p.target: p for p in propose(running, list(result.findings))}
    assert proposals[enoxaparin].kind == "adjust_dose"
    assert proposals[enoxaparin].summary.startswith("Adjust the dose of enoxaparin sodium 40 MG")
    assert proposals[enoxaparin].id == f"adjust:{enoxaparin}"


DR_CHEN = Approver(id="dr-chen", name="Dr Chen", role="clinician", wards=["7A"])


def reject_by_dr_chen() -> ApprovalResume:
    return ApprovalResume(
        approver=DR_CHEN,
        decisions=[Decision(proposal_id=f"activate:{ORDER}", decision="reject", comment="allergy")],
    )


async def test_a_decision_the_outbox_could_not_take_is_never_applied_later(graph, outbox) -> None:
    """Issue 17 item 1: a failed approval's resume value stayed in the checkpoint and was
    applied in place of the next clinician's decision."""
    result = await ask(graph, patient_id=PATIENT, question="Can we give the co-amoxiclav?")
    outbox.path.mkdir(parents=True)  # a directory where the outbox file goes: the write fails
    with pytest.raises(DecisionNotRecorded, match="Is a directory"):
        await resume(graph, thread_id=result.thread_id, decision=decide("approve"))
    outbox.path.rmdir()
    still = await graph.aget_state({"configurable": {"thread_id": result.thread_id}})
    assert still.interrupts  # the proposal waits for a decision again
    done = await resume(graph, thread_id=result.thread_id, decision=reject_by_dr_chen())
    assert [(d.decision, d.approver, d.comment) for d in done.decisions] == [
        ("reject", "dr-chen", "allergy")
    ]
    assert outbox_items(outbox) == []


async def test_a_decision_the_audit_store_refused_is_never_applied_later(
    tmp_path: Path, graph, outbox
) -> None:
    """The audit store refusing the decision (locked, full) leaves it undone, not pending."""
    path = tmp_path / "audit.sqlite"
    store = AuditStore.open(f"sqlite:///{path}")
    result = await ask(graph, patient_id=PATIENT, question="Can we give it?", audit=store)
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TRIGGER refuse_decisions BEFORE INSERT ON audit_events "
            "WHEN NEW.kind = 'approval.decided' BEGIN SELECT RAISE(ABORT, 'audit locked'); END"
        )
    with pytest.raises(DecisionNotRecorded, match="audit locked"):
        await resume(graph, thread_id=result.thread_id, decision=decide("approve"), audit=store)
    assert outbox_items(outbox) == []  # nothing was written without its audit event
    with sqlite3.connect(path) as db:
        db.execute("DROP TRIGGER refuse_decisions")
    done = await resume(
        graph, thread_id=result.thread_id, decision=reject_by_dr_chen(), audit=store
    )
    assert [(d.decision, d.approver) for d in done.decisions] == [("reject", "dr-chen")]
    decided = [
        e.payload["approver"]
        for e in await store.events(patient_id=PATIENT)
        if e.kind == EventKind.APPROVAL_DECIDED
    ]
    assert decided == ["dr-chen"]
    assert outbox_items(outbox) == []
    assert (await store.verify()).ok
    store.close()


async def test_the_file_outbox_writes_a_decision_once(outbox) -> None:
    """Issue 17 item 2: a replayed decision (same id) is not written again; a line a crash cut
    short is neither a decision nor glued to the next one."""
    item = {"proposal_id": "p", "decision": "approve", "decision_id": "dec-1", "thread_id": "t"}
    await outbox.write([item])
    assert await outbox.write([item]) == [["file:outbox.jsonl"]]
    assert [i["decision_id"] for i in outbox_items(outbox)] == ["dec-1"]
    with outbox.path.open("a", encoding="utf-8") as fh:
        fh.write('{"decision_id": "dec-2", "thr')  # killed mid-line
    assert outbox.recorded() == {"dec-1"}
    await outbox.write([{**item, "decision_id": "dec-2"}])
    lines = outbox.path.read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[-1])["decision_id"] == "dec-2"
    assert outbox.recorded() == {"dec-1", "dec-2"}


async def test_a_decision_written_but_not_fully_audited_is_finished_not_redone(
    tmp_path: Path, graph, outbox
) -> None:
    """After the outbox took the write nothing undoes the decision: a failure there leaves the
    recording to finish, and finishing it writes nothing twice."""
    path = tmp_path / "audit.sqlite"
    store = AuditStore.open(f"sqlite:///{path}")
    result = await ask(graph, patient_id=PATIENT, question="Can we give it?", audit=store)
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TRIGGER refuse_receipts BEFORE INSERT ON audit_events "
            "WHEN NEW.kind = 'approval.recorded' BEGIN SELECT RAISE(ABORT, 'audit full'); END"
        )
    with pytest.raises(AuditError):
        await resume(graph, thread_id=result.thread_id, decision=decide("approve"), audit=store)
    [written] = outbox_items(outbox)
    with sqlite3.connect(path) as db:
        db.execute("DROP TRIGGER refuse_receipts")
    with pytest.raises(NothingToApprove):  # the decision stands: finished first, then refused
        await resume(graph, thread_id=result.thread_id, decision=reject_by_dr_chen(), audit=store)
    assert outbox_items(outbox) == [written]
    state = await graph.aget_state({"configurable": {"thread_id": result.thread_id}})
    [recorded] = state.values["decisions"]
    assert (recorded.decision, recorded.approver) == ("approve", "dr-lin")
    assert recorded.decision_id == written["decision_id"]
    assert recorded.recorded_as == ["file:outbox.jsonl"]
    assert (await store.verify()).ok
    store.close()
