"""Lab interpreter: abnormal values, trends and deltas, calculator results, what they suggest.

Deterministic part (always runs): reference-range flags and trends from ``tools.labs``; eGFR and
KDIGO AKI staging from ``tools.calculators``. The model explains and prioritises them.
"""

from __future__ import annotations

from agents.common import SpecialistTask, findings_digest, record_of
from agents.consult import consult, specialist_messages
from agents.deps import WardRoundDeps
from agents.report import SpecialistReport
from agents.rules import lab_rule_findings
from agents.specialist import Explained, Gathered, SpecialistSteps, run_specialist
from agents.tool_step import tool_step

NAME = "labs"
INSTRUCTIONS = (
    "Role: lab interpreter. Explain the abnormal results and trends listed in the tool results, "
    "most urgent first, and what they suggest for this patient. Cite the Observation ids."
)


async def gather(deps: WardRoundDeps, task: SpecialistTask) -> Gathered:
    findings = lab_rule_findings(record_of(task), deps.clock())
    summary = f"{len(findings)} lab findings from reference ranges, trends and calculators."
    return Gathered(findings=findings, evidence=findings_digest(findings), summary=summary)


async def explain(deps: WardRoundDeps, task: SpecialistTask, got: Gathered) -> Explained:
    """The model may ask for calculators (bounded), then explains the results."""
    messages = specialist_messages(
        task["context"], INSTRUCTIONS, got.evidence, task["question"], task["language"]
    )
    tools = await tool_step(deps, messages, specialist=NAME, deadline_at=task["deadline_at"])
    if tools.evidence:
        messages[-1] = {**messages[-1], "content": messages[-1]["content"] + "\n" + tools.evidence}
    consultation = await consult(deps, messages, name=NAME, deadline_at=task["deadline_at"])
    degraded = consultation.degraded_reason or tools.degraded_reason
    return Explained(note=consultation.note, degraded_reason=degraded, findings=tools.findings)


STEPS = SpecialistSteps(NAME, gather, explain)


async def labs_specialist(deps: WardRoundDeps, task: SpecialistTask) -> SpecialistReport:
    return await run_specialist(STEPS, deps, task)
