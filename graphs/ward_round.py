"""The ward-round graph: load_record → route → specialists in parallel (Send) → synthesize.

Built by ``build_ward_round(deps, checkpointer)``: every dependency (model client, graph store,
record source, clock) arrives in ``deps``; nothing here builds a live client. Specialists run in
parallel via LangGraph ``Send``; their findings and reports merge through the state's reducers.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Send

from agents.context import patient_context
from agents.deps import WardRoundDeps
from agents.guideline import guideline_specialist
from agents.history import history_specialist
from agents.imaging import imaging_specialist
from agents.labs import labs_specialist
from agents.report import SpecialistReport
from agents.router import language_of, route
from agents.synthesizer import synthesize
from core.domain import Finding, PatientRecord
from graphs.state import SpecialistTask, WardRoundInput, WardRoundState

Specialist = Callable[[WardRoundDeps, dict[str, Any]], Awaitable[SpecialistReport]]
SPECIALISTS: dict[str, Specialist] = {
    "history": history_specialist,
    "labs": labs_specialist,
    "imaging": imaging_specialist,
    "guideline": guideline_specialist,
}


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)


def build_ward_round(
    deps: WardRoundDeps, checkpointer: BaseCheckpointSaver[Any] | None = None
) -> CompiledStateGraph[WardRoundState, None, WardRoundInput, WardRoundState]:
    async def load_record(state: WardRoundState) -> dict[str, Any]:
        started = time.monotonic()
        record = await deps.patients.load(state["patient_id"])
        now = deps.clock()
        return {
            "record": record.model_dump(mode="json"),
            "context": patient_context(record, now),
            "language": language_of(state["question"]),
            "deadline_at": now.timestamp() + deps.round_deadline_s,
            "reports": None,
            "findings": None,
            "degraded_reasons": None,
            "timings": {"load_record": _ms(started)},
        }

    async def route_node(state: WardRoundState) -> dict[str, Any]:
        started = time.monotonic()
        record = state["record"]
        chosen, origin = await route(
            deps,
            state["context"],
            state["question"],
            bool(record.get("imaging")),
            state["deadline_at"],
        )
        return {"specialists": chosen, "route_origin": origin, "timings": {"route": _ms(started)}}

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

    def specialist_node(name: str) -> Callable[[SpecialistTask], Awaitable[dict[str, Any]]]:
        async def run(task: SpecialistTask) -> dict[str, Any]:
            report = await SPECIALISTS[name](deps, dict(task))
            return {
                "reports": [report.model_dump(mode="json")],
                "findings": [f.model_dump(mode="json") for f in report.findings],
                "degraded_reasons": [report.degraded_reason] if report.degraded_reason else [],
                "timings": {name: round(report.duration_ms, 1)},
            }

        run.__name__ = name
        return run

    async def synthesize_node(state: WardRoundState, config: RunnableConfig) -> dict[str, Any]:
        started = time.monotonic()
        reports = [SpecialistReport.model_validate(r) for r in state.get("reports", [])]
        findings = [Finding.model_validate(f) for f in state.get("findings", [])]
        answer, claims, rejected, degraded = await synthesize(
            deps,
            context=state["context"],
            question=state["question"],
            language=state["language"],
            record=PatientRecord.model_validate(state["record"]),
            reports=reports,
            findings=findings,
            deadline_at=state["deadline_at"],
        )
        run_id = (config.get("configurable") or {}).get("run_id", "")
        return {
            "answer": answer,
            "claims": [c.model_dump(mode="json") for c in claims],
            "unsupported_citations": rejected,
            "degraded_reasons": [degraded] if degraded else [],
            "timings": {"synthesize": _ms(started)},
            "turns": [{"run_id": run_id, "question": state["question"], "answer": answer}],
        }

    graph = StateGraph(WardRoundState, input_schema=WardRoundInput)
    graph.add_node("load_record", load_record)
    graph.add_node("route", route_node)
    for name in SPECIALISTS:
        # a specialist's input is its SpecialistTask (sent by ``fan_out``), not the whole state
        graph.add_node(name, cast("Any", specialist_node(name)), input_schema=SpecialistTask)
        graph.add_edge(name, "synthesize")
    graph.add_node("synthesize", synthesize_node)
    graph.add_edge(START, "load_record")
    graph.add_edge("load_record", "route")
    graph.add_conditional_edges("route", fan_out, list(SPECIALISTS))
    graph.add_edge("synthesize", END)
    return graph.compile(checkpointer=checkpointer, name="ward_round")
