"""How readable a round's cards are, against its case (issue 14).

- **cards in Act now / in all**: the result's ``cards[]`` by tier.
- **findings merged**: findings minus cards (how many lines the grouping saved).
- **duplicates left**: drugs (in interaction, contraindication, dose-adjustment and allergy
  findings) and analytes (in lab flags and trends) that appear in more than one card: the same
  problem shown twice. Target 0.
- **Act-now precision**: Act-now cards holding a finding that matches an expected finding, over
  Act-now cards.
- **Act-now safety recall**: expected safety-critical findings met by the findings inside Act-now
  cards, over expected safety-critical findings. Target 1.0.
- **not-in-Act-now hits**: the case's ``not_in_act_now`` finding-id fragments (a statin or VTE
  prophylaxis statement, a vasopressor recommendation for a patient not in shock) found among
  the Act-now cards' findings. Target 0.
- **answer length**: characters of the answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import BaseModel

from core.domain import Finding
from evals.cases import Case, ExpectedFinding
from tools.labs.ranges import range_for

_DRUG_KINDS = frozenset({"interaction", "contraindication", "allergy_conflict"})
_LAB_KINDS = frozenset({"lab_flag", "lab_trend"})


class CardMetrics(BaseModel):
    cards_act_now: int = 0
    cards_total: int = 0
    findings_merged: int = 0
    duplicates_left: int = 0
    act_now_true: int = 0
    act_now_precision: float | None = None
    safety_expected: int = 0
    safety_in_act_now: int = 0
    act_now_safety_recall: float | None = None
    not_in_act_now_hits: list[str] = []
    answer_chars: int = 0


def _subjects(finding: Finding) -> set[str]:
    if finding.kind in _DRUG_KINDS:
        return {f"drug:{d.lower()}" for d in finding.drugs}
    if finding.kind in _LAB_KINDS:
        return {f"lab:{(rr.loinc if (rr := range_for(x)) else x)}" for x in finding.labs}
    return set()


def duplicates_left(cards: Sequence[Sequence[Finding]]) -> int:
    """Drugs or analytes that are the subject of findings in more than one card."""
    seen: dict[str, int] = {}
    for findings in cards:
        for subject in set().union(*(_subjects(f) for f in findings)) if findings else set():
            seen[subject] = seen.get(subject, 0) + 1
    return sum(1 for n in seen.values() if n > 1)


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def card_metrics(
    case: Case,
    answer: str,
    cards: Sequence[tuple[str, Sequence[Finding]]],
    findings_total: int,
    lab_of_ref: Mapping[str, str],
) -> CardMetrics:
    """``cards``: (tier, the card's findings) in reading order."""
    from evals.metrics import expected_met, finding_matches  # metrics imports this module

    act = [found for tier, found in cards if tier == "act_now"]
    in_act = [f for found in act for f in found]
    expected: Sequence[ExpectedFinding] = case.expected_findings
    true = sum(
        any(finding_matches(e, f, lab_of_ref) for e in expected for f in found) for found in act
    )
    safety = [e for e in expected if e.is_safety_critical]
    met = sum(expected_met(e, in_act, lab_of_ref) for e in safety)
    hits = [frag for frag in case.not_in_act_now if any(frag in f.id for f in in_act)]
    return CardMetrics(
        cards_act_now=len(act),
        cards_total=len(cards),
        findings_merged=findings_total - len(cards) if cards else 0,
        duplicates_left=duplicates_left([found for _, found in cards]),
        act_now_true=true,
        act_now_precision=_ratio(true, len(act)),
        safety_expected=len(safety),
        safety_in_act_now=met,
        act_now_safety_recall=_ratio(met, len(safety)),
        not_in_act_now_hits=hits,
        answer_chars=len(answer),
    )
