"""The two halves every specialist has: gather (deterministic tools) and explain (the model).

``graphs.specialists`` runs them as the steps of a specialist's subgraph (tools → model →
report), so a checkpoint follows each; ``run_specialist`` runs them back to back for callers that
want one report without a graph. Between graph steps the halves travel as their JSON dumps.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from agents.common import SpecialistTask, claims_of
from agents.consult import consult, specialist_messages
from agents.deps import WardRoundDeps
from agents.report import ModelNote, SpecialistReport
from core.domain import Finding


class Gathered(BaseModel):
    """What the deterministic half found, and what the model should read."""

    model_config = ConfigDict(frozen=True)

    findings: list[Finding]
    """Rule findings: they reach the answer whatever the model says."""
    evidence: str = ""
    """The tool results, as the model reads them."""
    summary: str
    """The report's summary when the model does not answer."""
    ask_model: bool = True
    """False when there is nothing for a model to do (no studies, no vision model, no KG)."""
    degraded_reason: str | None = None


class Explained(BaseModel):
    """What the model half produced: its note (or why not), and findings of its own tools."""

    model_config = ConfigDict(frozen=True)

    note: ModelNote | None
    degraded_reason: str | None
    findings: list[Finding] = Field(default_factory=list)
    summary: str = ""
    """A better fallback summary learnt in this step (e.g. the DICOM metadata), if any."""


Gather = Callable[[WardRoundDeps, SpecialistTask], Awaitable[Gathered]]
Explain = Callable[[WardRoundDeps, SpecialistTask, Gathered], Awaitable[Explained]]


@dataclass(frozen=True)
class SpecialistSteps:
    name: str
    gather: Gather
    explain: Explain


def explain_with(instructions: str, name: str) -> Explain:
    """The common model half: the specialist's instructions over its evidence, one consult."""

    async def explain(deps: WardRoundDeps, task: SpecialistTask, got: Gathered) -> Explained:
        messages = specialist_messages(
            task["context"], instructions, got.evidence, task["question"], task["language"]
        )
        consultation = await consult(deps, messages, name=name, deadline_at=task["deadline_at"])
        return Explained(note=consultation.note, degraded_reason=consultation.degraded_reason)

    return explain


def report_of(
    name: str, got: Gathered, explained: Explained | None, duration_ms: float
) -> SpecialistReport:
    """The specialist's report: rule findings first, then the model's; its note or a fallback."""
    note = explained.note if explained else None
    degraded = got.degraded_reason or (explained.degraded_reason if explained else None)
    fallback = (explained.summary if explained else "") or got.summary
    return SpecialistReport(
        specialist=name,
        summary=note.summary if note else fallback,
        findings=[*got.findings, *(explained.findings if explained else [])],
        key_points=claims_of(note),
        degraded_reason=degraded,
        duration_ms=duration_ms,
        model_calls=1 if explained is not None and explained.degraded_reason is None else 0,
    )


async def run_specialist(
    steps: SpecialistSteps, deps: WardRoundDeps, task: SpecialistTask
) -> SpecialistReport:
    """Both halves back to back, without a graph (tests, tools)."""
    started = time.monotonic()
    got = await steps.gather(deps, task)
    explained = await steps.explain(deps, task, got) if got.ask_model else None
    return report_of(steps.name, got, explained, (time.monotonic() - started) * 1000)


__all__ = [
    "Explained",
    "Gathered",
    "SpecialistSteps",
    "explain_with",
    "report_of",
    "run_specialist",
]
