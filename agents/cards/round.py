"""The cards of one ward round: its findings, its proposals, the patient's diagnoses."""

from __future__ import annotations

from collections.abc import Sequence

from agents.approvals import Proposal, propose
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
    record: PatientRecord,
    findings: Sequence[Finding],
    question: str,
    language: str,
    proposals: Sequence[Proposal] | None = None,
) -> list[Card]:
    """The proposals are the ones the round's ``propose`` step will make (given, or the same
    function on the same findings): a card's suggestions are those whose reasons it holds."""
    made = propose(record, list(findings)) if proposals is None else proposals
    dumped = [p.model_dump() for p in made]
    ctx = CardContext(question, language, diagnoses(record), dumped)
    return build_cards(findings, ctx)
