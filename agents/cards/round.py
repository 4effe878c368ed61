"""The cards of one ward round: its findings, its proposals, the patient's diagnoses."""

from __future__ import annotations

from collections.abc import Sequence

from agents.approvals import propose
from agents.cards.build import CardContext, build_cards
from agents.cards.model import Card
from core.domain import Finding, PatientRecord


def diagnoses(record: PatientRecord) -> frozenset[str]:
    """ICD-10-CM codes on the problem list (what ``not_applicable`` rules ask for)."""
    return frozenset(
        c.code
        for problem in record.problems
        for c in problem.codings
        if "icd-10" in c.system.lower() and c.code
    )


def round_cards(
    record: PatientRecord, findings: Sequence[Finding], question: str, language: str
) -> list[Card]:
    """The proposals are the ones the round's ``propose`` step will make (same function, same
    findings): a card's suggestions are those whose reasons it holds."""
    proposals = [p.model_dump() for p in propose(record, list(findings))]
    ctx = CardContext(question, language, diagnoses(record), proposals)
    return build_cards(findings, ctx)
