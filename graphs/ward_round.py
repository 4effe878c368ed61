"""The ward round: load_record → route → specialists (parallel, Send) → synthesize → propose
→ approve (an ``interrupt`` only when the round proposes writes) → record_decision (the
approval steps and their exactly-once rules: ``graphs.approval``).

Built by ``build_ward_round(deps, checkpointer)``: every dependency (model client, graph store,
record source, clock) arrives in ``deps``; nothing here builds a live client. Specialists run in
parallel via LangGraph ``Send``, each a compiled subgraph (``graphs.specialists``: tools → model →
report, checkpointed after each step); their findings and reports merge through the state's
reducers.
"""

from __future__ import annotations

import time
from typing import Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Send

from agents import guideline, history, imaging, labs
from agents.cards.round import round_cards
from agents.context import patient_context
from agents.deps import WardRoundDeps
from agents.report import SpecialistReport
from agents.router import language_of, route
from agents.specialist import SpecialistSteps
from agents.synthesizer import synthesize
from core.audit import EventKind
from core.audit.evidence import RECORD_DIGESTS, record_digests
from core.domain import Claim, Finding, PatientRecord
from graphs.approval import RECORD_DECISION, ApprovalSteps, round_settlement
from graphs.audit import audited_node, emit
from graphs.specialists import build_specialist
from graphs.state import (
    START_AFRESH,
    LoadRecordUpdate,
    RouteUpdate,
    SpecialistTask,
    SynthesizeUpdate,
    WardRoundGraph,
    WardRoundInput,
    WardRoundState,
)
from tools.fhir.parse import PARTLY_CHECKED

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

    async def load_record(self, state: WardRoundState) -> LoadRecordUpdate:
        started = time.monotonic()
        began = self.deps.clock()  # the deadline covers reading the record too
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
            "deadline_at": began.timestamp() + self.deps.round_deadline_s,
            "reports": START_AFRESH,
            "findings": START_AFRESH,
            "degraded_reasons": START_AFRESH,
            "timings": {START_AFRESH: 0.0, "load_record": _ms(started)},
        }

    async def route(self, state: WardRoundState) -> RouteUpdate:
        started = time.monotonic()
        has_imaging = bool(state["record"].get("imaging"))
        async with audited_node("route") as step:
            chosen, origin = await route(
                self.deps,
                state["record"],
                state["question"],
                has_imaging,
                state["deadline_at"],
                earlier=state.get("turns") or [],
            )
            if step is not None:
                step.record(specialists=chosen, origin=origin)
        return {
            "specialists": chosen,
            "route_origin": origin,
            "degraded_reasons": _partly_checked(state["record"]),
            "timings": {"route": _ms(started)},
        }

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

    async def synthesize(self, state: WardRoundState, config: RunnableConfig) -> SynthesizeUpdate:
        started = time.monotonic()
        record = PatientRecord.model_validate(state["record"])
        findings = [Finding.model_validate(f) for f in state.get("findings", [])]
        # a proposal the thread decided on unchanged facts is no card's suggestion
        proposals = round_settlement(state).proposals
        cards = round_cards(record, findings, state["question"], state["language"], proposals)
        async with audited_node("synthesize"):
            answer, claims, rejected, degraded = await synthesize(
                self.deps,
                context=state["context"],
                question=state["question"],
                language=state["language"],
                record=record,
                reports=[SpecialistReport.model_validate(r) for r in state.get("reports", [])],
                findings=findings,
                cards=cards,
                deadline_at=state["deadline_at"],
                earlier=state.get("turns") or [],
            )
            await _audit_claims(claims)
        run_id = str((config.get("configurable") or {}).get("run_id", ""))
        return {
            "answer": answer,
            "cards": cards,
            "claims": [c.model_dump(mode="json") for c in claims],
            "unsupported_citations": rejected,
            "degraded_reasons": [degraded] if degraded else [],
            "timings": {"synthesize": _ms(started)},
            "turns": [{"run_id": run_id, "question": state["question"], "answer": answer}],
        }


async def _audit_claims(claims: list[Claim]) -> None:
    for claim in claims:
        for citation in claim.citations:
            await emit(EventKind.CITATION_VERIFIED, citation.model_dump(mode="json"))
        if not claim.supported:
            await emit(EventKind.CITATION_REJECTED, {"claim": claim.text})


def build_ward_round(
    deps: WardRoundDeps,
    checkpointer: BaseCheckpointSaver[Any] | None = None,
    *,
    take_decisions: bool = True,
) -> WardRoundGraph:
    """Compile the ward round over ``deps`` (model, KG, records, clock) and a checkpointer.

    ``take_decisions=False`` builds it for LangGraph's own API, which takes no decision
    (``graphs.approval.DecisionsNotTakenHere``)."""
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
    approval = ApprovalSteps(deps, take_decisions=take_decisions)
    graph.add_node("propose", approval.propose)
    graph.add_node("approve", approval.approve)
    graph.add_node(RECORD_DECISION, approval.record_decision)
    graph.add_edge("synthesize", "propose")
    graph.add_conditional_edges("propose", approval.needs_approval, ["approve", END])
    graph.add_edge("approve", RECORD_DECISION)
    graph.add_conditional_edges(RECORD_DECISION, approval.after_record, ["approve", END])
    return graph.compile(checkpointer=checkpointer, name="ward_round")


def _partly_checked(record: dict[str, Any]) -> list[str]:
    """A record too large to check in time says so, with what was checked (a degraded reason:
    ``load_record`` starts the question's reasons afresh, so the next step carries it)."""
    issues = record.get("data_issues") or []
    return [i["message"] for i in issues if i.get("kind") == PARTLY_CHECKED]
