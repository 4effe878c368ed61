"""Guideline checker: medications and proposed actions against the knowledge graph.

Deterministic part (always runs): interactions, contraindications (renal/hepatic/lab thresholds,
pregnancy), allergy cross-reactivity, monitoring and applicable recommendations, each citing the
KG fact with its source and the patient facts that triggered it. The model explains them.
"""

from __future__ import annotations

from agents.common import SpecialistTask, findings_digest, record_of
from agents.deps import WardRoundDeps
from agents.rules import kg_rule_findings
from agents.specialist import Gathered, SpecialistSteps, explain_with

NAME = "guideline"
INSTRUCTIONS = (
    "Role: guideline checker. Explain the interactions, contraindications, allergy conflicts "
    "and guideline recommendations listed in the tool results, most severe first, with what "
    "the team should do. Cite the kg: ids and the patient's FHIR ids."
)


async def gather(deps: WardRoundDeps, task: SpecialistTask) -> Gathered:
    if deps.graph_store is None:
        return Gathered(
            findings=[],
            summary="The knowledge graph is not available: no guideline checks ran.",
            ask_model=False,
            degraded_reason="guideline: no knowledge graph configured",
        )
    findings = await kg_rule_findings(deps.graph_store, record_of(task))
    summary = f"{len(findings)} knowledge-graph findings (interactions, contraindications, ...)."
    return Gathered(findings=findings, evidence=findings_digest(findings), summary=summary)


STEPS = SpecialistSteps(NAME, gather, explain_with(INSTRUCTIONS, NAME))
