"""Lab interpreter: abnormal values, trends and deltas, calculator results, what they suggest.

Deterministic part (always runs): reference-range flags and trends from ``tools.labs``; eGFR and
KDIGO AKI staging from ``tools.calculators``. The model explains and prioritises them.
"""

from __future__ import annotations

import time
from typing import Any

from agents.common import findings_digest, finish, record_of
from agents.consult import Consultation, consult, specialist_messages
from agents.deps import WardRoundDeps
from agents.report import SpecialistReport
from agents.rules import lab_rule_findings
from agents.tool_step import tool_step

NAME = "labs"
INSTRUCTIONS = (
    "Role: lab interpreter. Explain the abnormal results and trends listed in the tool results, "
    "most urgent first, and what they suggest for this patient. Cite the Observation ids."
)


async def labs_specialist(deps: WardRoundDeps, task: dict[str, Any]) -> SpecialistReport:
    started = time.monotonic()
    record = record_of(task)
    findings = lab_rule_findings(record, deps.clock())
    messages = specialist_messages(
        task["context"], INSTRUCTIONS, findings_digest(findings), task["question"], task["language"]
    )
    tools = await tool_step(deps, messages, specialist=NAME, deadline_at=task["deadline_at"])
    if tools.evidence:
        messages[-1] = {**messages[-1], "content": messages[-1]["content"] + "\n" + tools.evidence}
    consultation = await consult(deps, messages, name=NAME, deadline_at=task["deadline_at"])
    findings += tools.findings
    if tools.degraded_reason and consultation.degraded_reason is None:
        consultation = Consultation(consultation.note, tools.degraded_reason)
    summary = f"{len(findings)} lab findings from reference ranges, trends and calculators."
    return finish(NAME, started, findings, consultation, fallback_summary=summary)
