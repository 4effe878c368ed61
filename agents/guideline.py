"""Guideline checker: medications and proposed actions against the knowledge graph.

Deterministic part (always runs): interactions, contraindications (renal/hepatic/lab thresholds,
pregnancy), allergy cross-reactivity, monitoring and applicable recommendations, each citing the
KG fact with its source and the patient facts that triggered it. The model explains them.
"""

from __future__ import annotations

import time
from typing import Any

from agents.common import findings_digest, finish, record_of
from agents.consult import Consultation, consult, specialist_messages
from agents.deps import WardRoundDeps
from agents.report import SpecialistReport
from agents.rules import kg_rule_findings

NAME = "guideline"
INSTRUCTIONS = (
    "Role: guideline checker. Explain the interactions, contraindications, allergy conflicts "
    "and guideline recommendations listed in the tool results, most severe first, with what "
    "the team should do. Cite the kg: ids and the patient's FHIR ids."
)


async def guideline_specialist(deps: WardRoundDeps, task: dict[str, Any]) -> SpecialistReport:
    started = time.monotonic()
    record = record_of(task)
    if deps.graph_store is None:
        return finish(
            NAME,
            started,
            [],
            Consultation(None, "guideline: no knowledge graph configured"),
            fallback_summary="The knowledge graph is not available: no guideline checks ran.",
        )
    findings = await kg_rule_findings(deps.graph_store, record)
    messages = specialist_messages(
        task["context"], INSTRUCTIONS, findings_digest(findings), task["question"], task["language"]
    )
    consultation = await consult(deps, messages, name=NAME, deadline_at=task["deadline_at"])
    summary = f"{len(findings)} knowledge-graph findings (interactions, contraindications, ...)."
    return finish(NAME, started, findings, consultation, fallback_summary=summary)
