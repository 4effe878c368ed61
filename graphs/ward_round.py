"""The ward round: load_record → route → specialists (parallel, Send) → synthesize → propose
→ approve (an ``interrupt`` only when the round proposes writes).

Built by ``build_ward_round(deps, checkpointer)``: every dependency (model client, graph store,
record source, clock) arrives in ``deps``; nothing here builds a live client. Specialists run in
parallel via LangGraph ``Send``, each a compiled subgraph (``graphs.specialists``: tools → model →
report, checkpointed after each step); their findings and reports merge through the state's
reducers.
"""

from __future__ import annotations

import time
from typing import Any, Literal, cast

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Send, interrupt

from agents import guideline, history, imaging, labs
from agents.approvals import (
    ApprovalResume,
    DecisionNotRecorded,
    check_approver,
    check_decisions,
    decision_id,
    digest,
    propose,
)
from agents.context import patient_context
from agents.deps import WardRoundDeps
from agents.report import SpecialistReport
from agents.router import language_of, route
from agents.specialist import SpecialistSteps
from agents.synthesizer import synthesize
from core.audit import EventKind
from core.audit.evidence import RECORD_DIGESTS, record_digests
from core.domain import Claim, Finding, PatientRecord
from core.errors import WardroundError
from core.logging import get_logger
from graphs.audit import audited_node, emit
from graphs.specialists import build_specialist
from graphs.state import START_AFRESH, SpecialistTask, WardRoundInput, WardRoundState

log = get_logger(__name__)

SPECIALISTS: dict[str, SpecialistSteps] = {
    "history": history.STEPS,
    "labs": labs.STEPS,
    "imaging": imaging.STEPS,
    "guideline": guideline.STEPS,
}


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)


class _Nodes:
    """The graph's nodes, bound to one set of dependencies."""

    def __init__(self, deps: WardRoundDeps) -> None:
        self.deps = deps

    async def load_record(self, state: WardRoundState) -> dict[str, Any]:
        started = time.monotonic()
        async with audited_node("load_record") as step:
            record = await self.deps.patients.load(state["patient_id"])
            if step is not None:
                step.record(
                    source=record.source,
                    facts=len(record.refs()),
                    **{RECORD_DIGESTS: record_digests(record)},
                )
        now = self.deps.clock()
        return {
            "record": record.model_dump(mode="json"),
            "context": patient_context(record, now),
            "language": language_of(state["question"]),
            "deadline_at": now.timestamp() + self.deps.round_deadline_s,
            "reports": START_AFRESH,
            "findings": START_AFRESH,
            "degraded_reasons": START_AFRESH,
            "timings": {"load_record": _ms(started)},
        }

    async def route(self, state: WardRoundState) -> dict[str, Any]:
        started = time.monotonic()
        has_imaging = bool(state["record"].get("imaging"))
        async with audited_node("route") as step:
            chosen, origin = await route(
                self.deps,
                state["context"],
                state["question"],
                has_imaging,
                state["deadline_at"],
                earlier=state.get("turns") or [],
            )
            if step is not None:
                step.record(specialists=chosen, origin=origin)
        return {"specialists": chosen, "route_origin": origin, "timings": {"route": _ms(started)}}

    @staticmethod
    def fan_out(state: WardRoundState) -> list[Send]:
        return [
            Send(
                name,
                SpecialistTask(
                    specialist=name,
                    question=state["question"],
                    language=state["language"],
                    record=state["record"],
                    context=state["context"],
                    deadline_at=state["deadline_at"],
                ),
            )
            for name in state["specialists"]
        ]

    async def synthesize(self, state: WardRoundState, config: RunnableConfig) -> dict[str, Any]:
        started = time.monotonic()
        async with audited_node("synthesize"):
            answer, claims, rejected, degraded = await synthesize(
                self.deps,
                context=state["context"],
                question=state["question"],
                language=state["language"],
                record=PatientRecord.model_validate(state["record"]),
                reports=[SpecialistReport.model_validate(r) for r in state.get("reports", [])],
                findings=[Finding.model_validate(f) for f in state.get("findings", [])],
                deadline_at=state["deadline_at"],
                earlier=state.get("turns") or [],
            )
            await _audit_claims(claims)
        run_id = (config.get("configurable") or {}).get("run_id", "")
        return {
            "answer": answer,
            "claims": [c.model_dump(mode="json") for c in claims],
            "unsupported_citations": rejected,
            "degraded_reasons": [degraded] if degraded else [],
            "timings": {"synthesize": _ms(started)},
            "turns": [{"run_id": run_id, "question": state["question"], "answer": answer}],
        }

    async def propose(self, state: WardRoundState) -> dict[str, Any]:
        record = PatientRecord.model_validate(state["record"])
        findings = [Finding.model_validate(f) for f in state.get("findings", [])]
        proposals = [p.model_dump() for p in propose(record, findings)]
        if proposals:
            await emit(EventKind.APPROVAL_REQUESTED, {"proposals": proposals})
        return {
            "proposals": proposals,
            "decisions": [],
            "decided": None,
            "approval_failure": None,
            "approval_attempt": state.get("approval_attempt", 0) + 1,
        }

    @staticmethod
    def needs_approval(state: WardRoundState) -> Literal["approve", "__end__"]:
        return "approve" if state.get("proposals") else "__end__"

    async def approve(self, state: WardRoundState, config: RunnableConfig) -> dict[str, Any]:
        """Pause until a clinician on the patient's ward decides; take the decision, write nothing.

        Nothing after ``interrupt`` may raise: LangGraph keeps the resume value of a node that
        raised and hands it to the next resume, in place of the next clinician's decision (issue
        17). A decision that fails its checks goes back to a fresh pause, like one not recorded.
        """
        ward = state["record"]["patient"].get("ward", "")
        answer = interrupt({"proposals": state["proposals"], "ward": ward})
        try:
            decided = self._decided(state, config, ApprovalResume.model_validate(answer), ward)
        except Exception as exc:  # reported to the resuming run
            return _not_recorded(state, config, exc)
        return {"decided": decided, "approval_failure": None}

    def _decided(
        self, state: WardRoundState, config: RunnableConfig, resume: ApprovalResume, ward: str
    ) -> list[dict[str, Any]]:
        check_approver(resume.approver, ward)
        check_decisions(resume, state["proposals"])
        by_id = {p["id"]: p for p in state["proposals"]}
        thread_id, run_id = _ids(config)
        attempt = state.get("approval_attempt", 0)
        return [
            {
                **d.model_dump(),
                "approver": resume.approver.id,
                "approver_name": resume.approver.name,
                "digest": digest(by_id[d.proposal_id], d.edits),
                "decided_at": self.deps.clock().isoformat(),
                "decision_id": decision_id(thread_id, d.proposal_id, attempt),
                "run_id": run_id,
            }
            for d in resume.decisions
        ]

    async def record_decision(
        self, state: WardRoundState, config: RunnableConfig
    ) -> dict[str, Any]:
        """Audit the decision, then write what was approved to the outbox.

        Before the write a failure undoes the decision (a fresh pause, the run says why). After
        it nothing may undo it: a failure leaves this step to run again with the same decision
        ids, and the outbox recognises them (exactly once)."""
        decided = state.get("decided") or []
        try:
            for d in decided:
                await emit(EventKind.APPROVAL_DECIDED, d)
            receipts = await self._write_approved(state, config, decided)
        except Exception as exc:  # nothing was written: decide again
            return _not_recorded(state, config, exc)
        decisions = [
            {**d, "recorded_as": receipts[d["decision_id"]]} if d["decision_id"] in receipts else d
            for d in decided
        ]
        for d in decisions:
            if "recorded_as" in d:
                await emit(
                    EventKind.APPROVAL_RECORDED,
                    {k: d[k] for k in ("decision_id", "proposal_id", "recorded_as")},
                )
        return {"decisions": decisions, "decided": None}

    async def _write_approved(
        self, state: WardRoundState, config: RunnableConfig, decided: list[dict[str, Any]]
    ) -> dict[str, list[str]]:
        """Where each approved decision was recorded, by decision id."""
        approved = [d for d in decided if d["decision"] == "approve"]
        if not approved or self.deps.outbox is None:
            return {}
        by_id = {p["id"]: p for p in state["proposals"]}
        thread_id, _ = _ids(config)
        items = [
            {"proposal": by_id[d["proposal_id"]], **d, "thread_id": thread_id} for d in approved
        ]
        receipts = await self.deps.outbox.write(items)
        return {d["decision_id"]: r for d, r in zip(approved, receipts, strict=True)}

    @staticmethod
    def after_record(state: WardRoundState) -> Literal["approve", "__end__"]:
        """A decision that was not recorded goes back to a fresh pause."""
        return "approve" if state.get("approval_failure") else "__end__"


def _ids(config: RunnableConfig) -> tuple[str, str]:
    configurable = config.get("configurable") or {}
    return str(configurable.get("thread_id", "")), str(configurable.get("run_id", ""))


def _not_recorded(state: WardRoundState, config: RunnableConfig, exc: Exception) -> dict[str, Any]:
    """Undo the decision: a fresh attempt (new decision ids) and why, for the run to report."""
    known = exc if isinstance(exc, WardroundError) else None
    log.warning("approval.not_recorded", error=type(exc).__name__)
    return {
        "decided": None,
        "approval_attempt": state.get("approval_attempt", 0) + 1,
        "approval_failure": {
            "run_id": _ids(config)[1],
            "error": type(exc).__name__,
            "message": f"{type(exc).__name__}: {exc}"[:500],
            "http_status": known.http_status if known else DecisionNotRecorded.http_status,
            "title": known.title if known else DecisionNotRecorded.title,
        },
    }


async def _audit_claims(claims: list[Claim]) -> None:
    for claim in claims:
        for citation in claim.citations:
            await emit(EventKind.CITATION_VERIFIED, citation.model_dump(mode="json"))
        if not claim.supported:
            await emit(EventKind.CITATION_REJECTED, {"claim": claim.text})


def build_ward_round(
    deps: WardRoundDeps, checkpointer: BaseCheckpointSaver[Any] | None = None
) -> CompiledStateGraph[WardRoundState, None, WardRoundInput, WardRoundState]:
    """Compile the ward round over ``deps`` (model, KG, records, clock) and a checkpointer."""
    nodes = _Nodes(deps)
    graph = StateGraph(WardRoundState, input_schema=WardRoundInput)
    graph.add_node("load_record", nodes.load_record)
    graph.add_node("route", nodes.route)
    for name, steps in SPECIALISTS.items():
        # a subgraph whose input is its SpecialistTask (sent by ``fan_out``), not the whole state
        graph.add_node(name, cast("Any", build_specialist(steps, deps)))
        graph.add_edge(name, "synthesize")
    graph.add_node("synthesize", nodes.synthesize)
    graph.add_edge(START, "load_record")
    graph.add_edge("load_record", "route")
    graph.add_conditional_edges("route", nodes.fan_out, list(SPECIALISTS))
    graph.add_node("propose", nodes.propose)
    graph.add_node("approve", nodes.approve)
    graph.add_node("record_decision", nodes.record_decision)
    graph.add_edge("synthesize", "propose")
    graph.add_conditional_edges("propose", nodes.needs_approval, ["approve", END])
    graph.add_edge("approve", "record_decision")
    graph.add_conditional_edges("record_decision", nodes.after_record, ["approve", END])
    return graph.compile(checkpointer=checkpointer, name="ward_round")
