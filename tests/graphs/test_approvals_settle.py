"""Approvals settle (issue 16 item 1): a decided proposal is not asked again on unchanged facts;
a new result brings it back saying what changed; a question on a paused thread keeps it waiting."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from agents.approval_memory import (
    STILL_PENDING,
    STILL_PENDING_IN,
    Settlement,
    decisions_text,
    settle,
    settled_from,
)
from agents.approvals import (
    ApprovalResume,
    Approver,
    Decision,
    JsonlOutbox,
    Proposal,
    RecordedDecision,
)
from core.domain import Finding, Severity
from core.settings import SHIPPED_DATA
from graphs.checkpoint import serde
from graphs.run import ask, resume
from graphs.ward_round import build_ward_round
from tests.conftest import DepsFactory
from tests.graphs.test_approvals import DR_LIN, ORDER, PATIENT, approval_graph, outbox_items
from tests.graphs.test_ward_round import NOW, ward_model
from tools.fhir.sources import DirectoryPatientSource

DR_WU = Approver(id="dr-wu", name="Dr Wu", role="clinician", wards=["5A"])
K_PATIENT = "hyperkalaemia-acei-spironolactone"  # ward 5A: potassium 6.4 on ramipril + spiro


@pytest.fixture
def outbox(tmp_path: Path) -> JsonlOutbox:
    return JsonlOutbox(tmp_path / "outbox.jsonl")


def all_of(proposals: list[Proposal], decision: str, approver: Approver) -> ApprovalResume:
    return ApprovalResume(
        approver=approver,
        decisions=[
            Decision(proposal_id=p.id, decision=decision, comment="ward round")  # type: ignore[arg-type]
            for p in proposals
        ],
    )


@pytest.mark.parametrize(("decision", "said"), [("approve", "approved"), ("reject", "rejected")])
async def test_a_decided_proposal_is_not_asked_again_while_its_facts_stand(
    scripted_model: Any, outbox: Any, round_deps: DepsFactory, decision: str, said: str
) -> None:
    graph = approval_graph(round_deps, scripted_model, outbox)
    first = await ask(graph, patient_id=PATIENT, question="Can we give the co-amoxiclav?")
    assert [p.id for p in first.proposals] == [f"activate:{ORDER}"]
    await resume(
        graph, thread_id=first.thread_id, decision=all_of(first.proposals, decision, DR_LIN)
    )
    written = outbox_items(outbox)

    again = await ask(
        graph, patient_id=PATIENT, question="And his other drugs?", thread_id=first.thread_id
    )
    assert again.pending_approval is False
    assert again.proposals == []
    [standing] = again.settled
    assert (standing.proposal.id, standing.decision, standing.approver) == (
        f"activate:{ORDER}",
        decision,
        "dr-lin",
    )
    assert standing.decided_at == NOW.isoformat()
    assert f"{said} by Dr Lin (dr-lin) at {NOW.isoformat()}" in again.answer
    assert "not proposed again" in again.answer
    # the cards no longer offer it as a proposal, and nothing more is written
    assert "Proposed (needs a clinician's approval)" not in again.answer
    assert not any(s.proposal_id for c in again.cards for s in c.suggestions)
    assert outbox_items(outbox) == written
    state = await graph.aget_state({"configurable": {"thread_id": first.thread_id}})
    assert not state.interrupts


def k_bundle(tmp_path: Path, potassium: float | None = None) -> Path:
    """The hyperkalaemia patient's bundle in a directory of its own; with ``potassium``, a new
    result a day after the last one."""
    root = tmp_path / "patients"
    root.mkdir(exist_ok=True)
    source = SHIPPED_DATA / "patients" / f"{K_PATIENT}.json"
    target = root / source.name
    if potassium is None:
        shutil.copy(source, target)
        return root
    bundle = json.loads(source.read_text(encoding="utf-8"))
    last = next(
        e for e in bundle["entry"] if e["resource"]["id"] == f"{K_PATIENT}-obs-10"
    )  # potassium 6.4 mmol/L, 2025-09-15 06:00
    new = json.loads(json.dumps(last))
    new["resource"]["id"] = f"{K_PATIENT}-obs-99"
    new["resource"]["effectiveDateTime"] = "2025-09-16T06:00:00+08:00"
    new["resource"]["valueQuantity"]["value"] = potassium
    bundle["entry"].append(new)
    target.write_text(json.dumps(bundle), encoding="utf-8")
    return root


def k_graph(round_deps: DepsFactory, scripted_model: Any, outbox: Any, root: Path, kg: Any) -> Any:
    _, client = scripted_model(ward_model)
    deps = round_deps(
        patients=DirectoryPatientSource(root, clock=lambda: NOW),
        model=client,
        clock=lambda: NOW,
        outbox=outbox,
        graph_store=kg,
    )
    return build_ward_round(deps, InMemorySaver(serde=serde()))


async def test_a_new_result_brings_a_decided_proposal_back_saying_what_changed(
    tmp_path: Path, scripted_model: Any, outbox: Any, curated_kg: Any, round_deps: DepsFactory
) -> None:
    root = k_bundle(tmp_path)
    graph = k_graph(round_deps, scripted_model, outbox, root, curated_kg)
    first = await ask(graph, patient_id=K_PATIENT, question="Potassium plan?")
    assert first.pending_approval, [f.id for f in first.findings]
    held = {p.id for p in first.proposals}
    await resume(
        graph, thread_id=first.thread_id, decision=all_of(first.proposals, "reject", DR_WU)
    )

    same = await ask(graph, patient_id=K_PATIENT, question="Again?", thread_id=first.thread_id)
    assert (same.pending_approval, same.proposals) == (False, [])
    assert {s.proposal.id for s in same.settled} == held

    k_bundle(tmp_path, potassium=7.1)  # the laboratory reports a higher potassium
    changed = await ask(graph, patient_id=K_PATIENT, question="Now?", thread_id=first.thread_id)
    assert changed.pending_approval is True
    back = {p.id: p for p in changed.proposals}
    assert back, "a higher potassium makes the decided holds relevant again"
    assert set(back) <= held
    for p in back.values():
        assert p.changed.startswith(f"rejected by Dr Wu (dr-wu) at {NOW.isoformat()}; since then")
        assert p.changed.endswith("since then: potassium 6.4 → 7.1"), p.changed
    assert "proposed again" in changed.answer
    # what the rules do not tie to potassium stays settled
    assert {s.proposal.id for s in changed.settled} == held - set(back)


async def test_a_question_on_a_paused_thread_keeps_its_proposals_waiting(
    scripted_model: Any, outbox: Any, round_deps: DepsFactory
) -> None:
    graph = approval_graph(round_deps, scripted_model, outbox)
    first = await ask(graph, patient_id=PATIENT, question="Can we give the co-amoxiclav?")
    assert first.pending_approval
    second = await ask(
        graph, patient_id=PATIENT, question="What else is on the chart?", thread_id=first.thread_id
    )
    assert second.pending_approval is True
    assert [p.id for p in second.proposals] == [p.id for p in first.proposals]
    assert second.turns == 2
    done = await resume(
        graph, thread_id=first.thread_id, decision=all_of(second.proposals, "reject", DR_LIN)
    )
    assert [(d.proposal_id, d.decision) for d in done.decisions] == [
        (f"activate:{ORDER}", "reject")
    ]
    assert outbox_items(outbox) == []


def _finding(fid: str, summary: str) -> Finding:
    return Finding(id=fid, kind="interaction", severity=Severity.high, summary=summary)


def test_what_changed_names_moved_values_new_and_resolved_findings() -> None:
    hold = Proposal(
        id="hold:MedicationRequest/m1",
        kind="hold_medication",
        summary="Hold ramipril",
        target="MedicationRequest/m1",
        because=["k", "aki"],
    )
    then = [_finding("k", "Hyperkalaemia, potassium 6.4 mmol/L"), _finding("aki", "AKI stage 1")]
    [settled] = settled_from(
        [
            RecordedDecision(
                proposal_id=hold.id,
                decision="approve",
                approver="dr-wu",
                digest="sha256:x",
                decided_at="2026-11-21T09:00:00+00:00",
            )
        ],
        [hold],
        then,
    )
    assert settle([hold], then, [settled]).standing == [settled]  # same facts: not asked again
    now = [_finding("k", "Hyperkalaemia, potassium 7.1 mmol/L"), _finding("ecg", "Peaked T waves")]
    [again] = settle([hold.model_copy(update={"because": ["k", "ecg"]})], now, [settled]).proposals
    assert again.changed == (
        "approved by dr-wu at 2026-11-21T09:00:00+00:00; since then: potassium 6.4 → 7.1; "
        "new: Peaked T waves; no longer: AKI stage 1"
    )


def test_a_proposal_left_waiting_stays_pending_when_the_findings_no_longer_call_for_it() -> None:
    waiting = Proposal(
        id="activate:MedicationRequest/m9",
        kind="activate_order",
        summary="Activate the proposed order: co-amoxiclav",
        target="MedicationRequest/m9",
    )
    [kept] = settle([], [], [], left_pending=[waiting]).proposals
    assert kept.id == waiting.id
    assert kept.changed == STILL_PENDING


def test_what_changed_is_framed_in_the_answers_language() -> None:
    hold = Proposal(
        id="hold:MedicationRequest/m1",
        kind="hold_medication",
        summary="Hold ramipril",
        target="MedicationRequest/m1",
        because=["k", "aki"],
    )
    then = [_finding("k", "Hyperkalaemia, potassium 6.4 mmol/L"), _finding("aki", "AKI stage 1")]
    decided = RecordedDecision(
        proposal_id=hold.id,
        decision="reject",
        approver="dr-wu",
        approver_name="Dr Wu",
        digest="sha256:x",
        decided_at="2026-11-21T09:00:00+00:00",
    )
    [settled] = settled_from([decided], [hold], then)
    now = [_finding("k", "Hyperkalaemia, potassium 7.1 mmol/L"), _finding("ecg", "Peaked T waves")]
    moved = hold.model_copy(update={"because": ["k", "ecg"]})
    [again] = settle([moved], now, [settled], language="zh-TW").proposals
    # the frame in Chinese; the rule text as the rules wrote it (agents.cards.words)
    assert again.changed == (
        "已由 Dr Wu (dr-wu) 於 2026-11-21T09:00:00+00:00 拒絕；此後：potassium 6.4 → 7.1；"
        "新發現：Peaked T waves；不再成立：AKI stage 1"
    )
    said = decisions_text(Settlement([again], []), "zh-TW")
    assert said.splitlines() == [
        "本對話串的處置決定：",
        f"- 暫停使用 ramipril：再次提出，{again.changed}",
    ]
    assert decisions_text(Settlement([], [settled]), "zh-TW").splitlines()[1] == (
        "- 暫停使用 ramipril：已由 Dr Wu (dr-wu) 於 2026-11-21T09:00:00+00:00 拒絕"
        "（所依據的事實未變：不再提出）"
    )
    [english] = settle([moved], now, [settled]).proposals
    assert english.changed.startswith("rejected by Dr Wu (dr-wu) at ")
    assert "Hold ramipril: proposed again, rejected" in decisions_text(
        Settlement([english], []), "en"
    )
    # the same words, a graver finding: 'new results behind it', in the answer's language
    graver = Finding(
        id="k", kind="interaction", severity=Severity.critical, summary=then[0].summary
    )
    [back] = settle([hold], [graver, then[1]], [settled], language="zh-TW").proposals
    assert back.changed.endswith("拒絕；此後：依據的結果已更新")


def test_a_proposal_left_waiting_says_so_in_chinese() -> None:
    waiting = Proposal(
        id="activate:MedicationRequest/m9",
        kind="activate_order",
        summary="Activate the proposed order: co-amoxiclav",
        target="MedicationRequest/m9",
    )
    [kept] = settle([], [], [], left_pending=[waiting], language="zh-TW").proposals
    assert kept.changed == STILL_PENDING_IN["zh-TW"]
    assert kept.changed != STILL_PENDING
    assert "\u4e00" <= kept.changed[0] <= "\u9fff"


async def test_a_chinese_question_hears_what_changed_in_chinese(
    tmp_path: Path, scripted_model: Any, outbox: Any, curated_kg: Any, round_deps: DepsFactory
) -> None:
    root = k_bundle(tmp_path)
    graph = k_graph(round_deps, scripted_model, outbox, root, curated_kg)
    first = await ask(graph, patient_id=K_PATIENT, question="鉀離子怎麼處理？")
    await resume(
        graph, thread_id=first.thread_id, decision=all_of(first.proposals, "reject", DR_WU)
    )
    k_bundle(tmp_path, potassium=7.1)
    changed = await ask(graph, patient_id=K_PATIENT, question="現在呢？", thread_id=first.thread_id)
    assert changed.proposals
    for p in changed.proposals:
        assert (
            p.changed == f"已由 Dr Wu (dr-wu) 於 {NOW.isoformat()} 拒絕；此後：potassium 6.4 → 7.1"
        )
    assert "再次提出，已由 Dr Wu" in changed.answer
    assert "since then" not in changed.answer
