"""Each specialist is a compiled subgraph: tools → model → report, a checkpoint after each step.

``tools`` runs the deterministic half (flags, scores, KG checks) and always completes; ``model``
asks the model (skipped when there is nothing to ask, e.g. no vision model); ``report`` turns both
into the specialist's report and hands the parent graph its findings. A round interrupted after
``tools`` resumes at ``model`` without recomputing the deterministic findings. The subgraph
inherits the parent's checkpointer, so its steps are checkpointed under the parent's thread.

Each step is an audit node named after the specialist (its step in the node's payload), so an
auditor sees the KG queries under ``guideline`` and the model calls under ``labs``.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from typing_extensions import TypedDict  # typing's gives pydantic nothing on Python 3.11

from agents.deps import WardRoundDeps
from agents.report import SpecialistReport
from agents.specialist import Explained, Gathered, SpecialistSteps, report_of
from core.audit import EventKind
from graphs.audit import audited_node, emit
from graphs.state import SpecialistTask


class SpecialistOutput(TypedDict):
    """What a specialist hands the parent graph (merged there by the state's reducers)."""

    reports: list[dict[str, Any]]
    findings: list[dict[str, Any]]
    degraded_reasons: list[str]
    timings: dict[str, float]


class SpecialistState(SpecialistTask, SpecialistOutput, total=False):
    started_at: float
    """Wall-clock epoch seconds when ``tools`` began (not the deps clock, which tests and evals
    fix; not a monotonic clock, which does not survive a resume in another process)."""
    gathered: dict[str, Any]
    """``agents.specialist.Gathered``, dumped."""
    explained: dict[str, Any] | None
    """``agents.specialist.Explained``, dumped; ``None`` when the model was not asked."""


class ToolsUpdate(TypedDict):
    """``tools``: what the deterministic half found; the model has not been asked yet."""

    started_at: float
    gathered: dict[str, Any]
    explained: None


class ModelUpdate(TypedDict):
    """``model``: what the model half produced."""

    explained: dict[str, Any]


class _Steps:
    def __init__(self, steps: SpecialistSteps, deps: WardRoundDeps) -> None:
        self.steps = steps
        self.deps = deps

    async def tools(self, state: SpecialistState) -> ToolsUpdate:
        started = time.time()
        async with audited_node(self.steps.name) as step:
            got = await self.steps.gather(self.deps, state)
            if step is not None:
                step.record(step="tools", findings=len(got.findings), ask_model=got.ask_model)
        return {"started_at": started, "gathered": got.model_dump(mode="json"), "explained": None}

    def after_tools(self, state: SpecialistState) -> Literal["model", "report"]:
        return "model" if state["gathered"]["ask_model"] else "report"

    async def model(self, state: SpecialistState) -> ModelUpdate:
        async with audited_node(self.steps.name) as step:
            got = Gathered.model_validate(state["gathered"])
            explained = await self.steps.explain(self.deps, state, got)
            if step is not None:
                step.record(step="model", degraded=explained.degraded_reason)
        return {"explained": explained.model_dump(mode="json")}

    async def report(self, state: SpecialistState) -> SpecialistOutput:
        name = self.steps.name
        async with audited_node(name) as step:
            explained = state.get("explained")
            elapsed = (time.time() - state["started_at"]) * 1000
            report = report_of(
                name,
                Gathered.model_validate(state["gathered"]),
                Explained.model_validate(explained) if explained else None,
                max(elapsed, 0.0),
            )
            await _audit_report(report)
            if step is not None:
                step.record(step="report", summary=report.summary, findings=len(report.findings))
        return {
            "reports": [report.model_dump(mode="json")],
            "findings": [f.model_dump(mode="json") for f in report.findings],
            "degraded_reasons": [report.degraded_reason] if report.degraded_reason else [],
            "timings": {name: round(report.duration_ms, 1)},
        }


async def _audit_report(report: SpecialistReport) -> None:
    for finding in report.findings:
        await emit(EventKind.FINDING_PRODUCED, finding.model_dump(mode="json"))
    if report.degraded_reason:
        await emit(
            EventKind.DEGRADED, {"specialist": report.specialist, "reason": report.degraded_reason}
        )


def build_specialist(
    steps: SpecialistSteps, deps: WardRoundDeps
) -> CompiledStateGraph[SpecialistState, None, SpecialistTask, SpecialistOutput]:
    """The specialist's subgraph; compiled without a checkpointer so it uses its parent's."""
    s = _Steps(steps, deps)
    graph = StateGraph(SpecialistState, input_schema=SpecialistTask, output_schema=SpecialistOutput)
    graph.add_node("tools", s.tools)
    graph.add_node("model", s.model)
    graph.add_node("report", s.report)
    graph.add_edge(START, "tools")
    graph.add_conditional_edges("tools", s.after_tools, ["model", "report"])
    graph.add_edge("model", "report")
    graph.add_edge("report", END)
    return graph.compile(name=steps.name)
