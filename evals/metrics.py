"""Clinical metrics of one ward round against its case, and of a suite of them.

Definitions (what each number means, so two runs can be compared honestly):

- **finding recall** (rule / model): expected findings met by the findings of that origin, over
  expected findings. A finding *matches* an expected one when its kind is one the expected kind
  is emitted as (``FINDING_KINDS``: cases speak the clinic's words, so a ``dose_adjustment`` is
  raised as a ``contraindication`` finding, an ``adverse_effect`` as an interaction or a
  contraindication; the same table as ``tests/graphs/test_scenarios.py``), its severity is
  at least the expected severity, every expected lab (LOINC, or another code of the same analyte)
  is among its labs or the labs of the observations it cites, and it names at least one expected
  drug (in its drugs or summary). An expected finding is *met* when its matching findings
  together name every expected drug (three QT-prolonging drugs are met by three pairwise
  interactions, each severe enough).
- **finding precision** (rule / model): among findings of that origin whose kind is one the case
  expects, those matching some expected finding. Kinds the case says nothing about (the many
  routine lab flags) are not judged.
- **safety-critical misses**: expected safety-critical findings (``evals.cases``) matched by no
  finding of any origin.
- **citation validity**: checkable citations (FHIR references, resolved against the record the
  round ran on, and ``calc:`` references) that are valid, over checkable citations plus those the
  verifier removed. KG and image references cannot be resolved offline: counted as unchecked.
- **required citations**: the case's required references present among the result's citations.
- **unsupported-claim rate**: claims the verifier marked unsupported, over claims.
- **forbidden claims**: the case's forbidden phrases found in the answer (case-insensitively,
  starting at a word boundary, so "discontinue apixaban" is not "continue apixaban") and not
  negated just before ("it's not safe to continue ibuprofen", "不可以安全給予").
- **routing accuracy**: the specialists run equal the case's expected route (as sets).
- **latency**: per graph node, the result's ``timings`` (ms); suites report p50/p95 (nearest rank).
- **tokens**: total tokens of the round's model calls.
- **shared-prefix fraction**: of the characters of each request's messages, the share that is a
  prefix already sent by an earlier request of the same round (what a server prefix cache can
  reuse; characters stand in for tokens).
- **degraded**: the round ran some part without the model.
- **cards** (``evals.card_metrics``): cards in Act now and in all, findings merged, duplicates
  left, Act-now precision, safety recall within Act now, not-in-Act-now hits, answer length.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from core.domain import Finding, Severity
from evals.card_metrics import CardMetrics, card_metrics
from evals.cases import Case, ExpectedFinding
from graphs.result import WardRoundResult
from tools.labs.ranges import same_analyte


def _drug_text(finding: Finding) -> str:
    return " ".join((*finding.drugs, finding.summary)).lower()


FINDING_KINDS: dict[str, frozenset[str]] = {
    "adverse_effect": frozenset({"adverse_effect", "interaction", "contraindication"}),
    "caution": frozenset({"caution", "contraindication"}),
    "dose_adjustment": frozenset({"dose_adjustment", "contraindication"}),
    "guideline": frozenset({"guideline", "recommendation"}),
    "monitoring": frozenset({"monitoring", "missing_monitoring"}),
}
"""A case's finding kind -> the kinds of the findings wardround raises for it (others: itself)."""


def emitted_kinds(kind: str) -> frozenset[str]:
    return FINDING_KINDS.get(kind, frozenset({kind}))


def finding_matches(
    expected: ExpectedFinding, finding: Finding, lab_of_ref: Mapping[str, str] | None = None
) -> bool:
    if finding.kind not in emitted_kinds(expected.kind):
        return False
    if expected.severity is not None and finding.severity.rank < Severity(expected.severity).rank:
        return False
    cited = {(lab_of_ref or {}).get(c.ref, "") for c in finding.citations}
    if not {_analyte(x) for x in expected.labs} <= {_analyte(x) for x in {*finding.labs, *cited}}:
        return False
    text = _drug_text(finding)
    return not expected.drugs or any(d.lower() in text for d in expected.drugs)


def _analyte(loinc: str) -> str:
    """One code per analyte: creatinine as 14682-9 (umol/L) is creatinine as 2160-0 (mg/dL)."""
    return min(same_analyte(loinc)) if loinc else loinc


def expected_met(
    expected: ExpectedFinding,
    findings: Sequence[Finding],
    lab_of_ref: Mapping[str, str] | None = None,
) -> bool:
    """Matching findings exist and, together, name every expected drug."""
    matching = [f for f in findings if finding_matches(expected, f, lab_of_ref)]
    text = " ".join(_drug_text(f) for f in matching)
    return bool(matching) and all(d.lower() in text for d in expected.drugs)


_NEGATED = re.compile(
    r"(?:\bnot|n't|\bnever|\bno longer|\bcannot)\s+(?:be\s+|been\s+)?$|(?:不|勿|別|未)\s*$"
)
"""A negation right before a phrase: English words, or a Chinese negator."""
_NEGATION_WINDOW = 16


def forbidden_hits(phrases: Sequence[str], answer: str) -> list[str]:
    """The phrases that occur in ``answer`` at least once un-negated, at a word boundary."""
    text = answer.lower()
    hits = []
    for phrase in phrases:
        pattern = re.compile(r"(?<![a-z0-9])" + re.escape(phrase.lower()))  # CJK has no spaces
        for match in pattern.finditer(text):
            before = text[max(0, match.start() - _NEGATION_WINDOW) : match.start()]
            if not _NEGATED.search(before):
                hits.append(phrase)
                break
    return hits


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


class CaseMetrics(BaseModel):
    case_id: str
    expected: int
    rule_matched: int
    model_matched: int
    rule_recall: float | None
    model_recall: float | None
    rule_judged: int
    rule_true: int
    model_judged: int
    model_true: int
    rule_precision: float | None
    model_precision: float | None
    safety_critical_misses: list[str]
    citations_checked: int
    citations_valid: int
    citations_removed: int
    citations_unchecked: int
    citation_validity: float | None
    required_citations_missing: list[str]
    required_citations: int
    claims: int
    unsupported_claims: int
    unsupported_claim_rate: float | None
    forbidden_claim_hits: list[str]
    route_expected: list[str] | None
    route_actual: list[str]
    route_correct: bool | None
    language_correct: bool
    timings: dict[str, float]
    tokens: int
    model_calls: int
    shared_prefix_fraction: float | None
    degraded: bool
    cards: CardMetrics = CardMetrics()


def _recall_precision(
    expected: Sequence[ExpectedFinding], findings: Sequence[Finding], labs: Mapping[str, str]
) -> tuple[int, int, int]:
    matched = sum(expected_met(e, findings, labs) for e in expected)
    kinds = {k for e in expected for k in emitted_kinds(e.kind)}
    judged = [f for f in findings if f.kind in kinds]
    true = sum(any(finding_matches(e, f, labs) for e in expected) for f in judged)
    return matched, len(judged), true


def _citations(
    result: WardRoundResult, record_refs: frozenset[str]
) -> tuple[int, int, int, set[str]]:
    checked = valid = unchecked = 0
    refs: set[str] = set()
    cited = [f.citations for f in result.findings] + [c.citations for c in result.claims]
    for citations in cited:
        for c in citations:
            refs.add(c.ref)
            if c.kind == "fhir":
                checked += 1
                valid += c.ref in record_refs
            elif c.kind == "calc":
                checked += 1
                valid += c.ref.startswith("calc:")
            else:
                unchecked += 1
    return checked, valid, unchecked, refs


def _message_text(body: dict[str, Any]) -> str:
    parts = []
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        parts.append(content if isinstance(content, str) else repr(content))
    return "\x00".join(parts)


def shared_prefix_fraction(requests: Sequence[dict[str, Any]]) -> float | None:
    """Share of request characters that repeat a prefix of an earlier request (in call order)."""
    texts = [_message_text(r) for r in requests]
    total = sum(len(t) for t in texts)
    if not total:
        return None
    shared = 0
    for i, text in enumerate(texts):
        best = 0
        for earlier in texts[:i]:
            n = len(_common_prefix(text, earlier))
            best = max(best, n)
        shared += best
    return round(shared / total, 4)


def _common_prefix(a: str, b: str) -> str:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return a[:n]


def case_metrics(
    case: Case,
    result: WardRoundResult,
    *,
    record_refs: frozenset[str],
    requests: Sequence[dict[str, Any]] = (),
    lab_of_ref: Mapping[str, str] | None = None,
) -> CaseMetrics:
    """``lab_of_ref``: observation reference -> LOINC, so a finding citing a result involves it."""
    expected = case.expected_findings
    rules = [f for f in result.findings if f.origin == "rule"]
    models = [f for f in result.findings if f.origin == "model"]
    labs = lab_of_ref or {}
    r_matched, r_judged, r_true = _recall_precision(expected, rules, labs)
    m_matched, m_judged, m_true = _recall_precision(expected, models, labs)
    misses = [
        e.describe()
        for e in expected
        if e.is_safety_critical and not expected_met(e, result.findings, labs)
    ]
    checked, valid, unchecked, refs = _citations(result, record_refs)
    removed = result.unsupported_citations
    unsupported = sum(not c.supported for c in result.claims)
    actual_route = sorted(s.name for s in result.specialists)
    return CaseMetrics(
        case_id=case.id,
        expected=len(expected),
        rule_matched=r_matched,
        model_matched=m_matched,
        rule_recall=_ratio(r_matched, len(expected)),
        model_recall=_ratio(m_matched, len(expected)),
        rule_judged=r_judged,
        rule_true=r_true,
        model_judged=m_judged,
        model_true=m_true,
        rule_precision=_ratio(r_true, r_judged),
        model_precision=_ratio(m_true, m_judged),
        safety_critical_misses=misses,
        citations_checked=checked,
        citations_valid=valid,
        citations_removed=removed,
        citations_unchecked=unchecked,
        citation_validity=_ratio(valid, checked + removed),
        required_citations_missing=[r for r in case.required_citations if r not in refs],
        required_citations=len(case.required_citations),
        claims=len(result.claims),
        unsupported_claims=unsupported,
        unsupported_claim_rate=_ratio(unsupported, len(result.claims)),
        forbidden_claim_hits=forbidden_hits(case.forbidden_claims, result.answer),
        route_expected=sorted(case.route) if case.route is not None else None,
        route_actual=actual_route,
        route_correct=None if case.route is None else sorted(set(case.route)) == actual_route,
        language_correct=result.language == case.language,
        timings=dict(result.timings),
        tokens=int(result.tokens.get("total_tokens", 0)),
        model_calls=int(result.tokens.get("calls", 0)),
        shared_prefix_fraction=shared_prefix_fraction(requests),
        degraded=result.degraded,
        cards=_card_metrics(case, result, labs),
    )


def _card_metrics(case: Case, result: WardRoundResult, labs: Mapping[str, str]) -> CardMetrics:
    by_id = {f.id: f for f in result.findings}
    cards = [(c.tier, [by_id[i] for i in c.finding_ids if i in by_id]) for c in result.cards]
    return card_metrics(case, result.answer, cards, len(result.findings), labs)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


class SuiteMetrics(BaseModel):
    cases: int
    expected_findings: int
    rule_recall: float | None
    model_recall: float | None
    rule_precision: float | None
    model_precision: float | None
    safety_critical_misses: int
    citation_validity: float | None
    required_citation_recall: float | None
    unsupported_claim_rate: float | None
    forbidden_claim_hits: int
    routing_accuracy: float | None
    language_accuracy: float | None
    latency_ms: dict[str, dict[str, float | None]]
    """Per node (and 'total'): p50 and p95."""
    tokens_per_case: float | None
    tokens_total: int
    shared_prefix_fraction: float | None
    degraded: int
    cards: dict[str, float | int | None] = {}
    """Suite totals and means of the case card metrics (``suite_cards``)."""


def _sum(items: Iterable[int]) -> int:
    return sum(items)


def suite_metrics(cases: Sequence[CaseMetrics]) -> SuiteMetrics:
    n = len(cases)
    expected = _sum(c.expected for c in cases)
    routed = [c for c in cases if c.route_correct is not None]
    nodes = sorted({node for c in cases for node in c.timings})
    latency = {
        node: {
            "p50": percentile([c.timings[node] for c in cases if node in c.timings], 50),
            "p95": percentile([c.timings[node] for c in cases if node in c.timings], 95),
        }
        for node in nodes
    }
    prefixes = [c.shared_prefix_fraction for c in cases if c.shared_prefix_fraction is not None]
    required = _sum(c.required_citations for c in cases)
    missing = _sum(len(c.required_citations_missing) for c in cases)
    tokens = _sum(c.tokens for c in cases)
    return SuiteMetrics(
        cases=n,
        expected_findings=expected,
        rule_recall=_ratio(_sum(c.rule_matched for c in cases), expected),
        model_recall=_ratio(_sum(c.model_matched for c in cases), expected),
        rule_precision=_ratio(_sum(c.rule_true for c in cases), _sum(c.rule_judged for c in cases)),
        model_precision=_ratio(
            _sum(c.model_true for c in cases), _sum(c.model_judged for c in cases)
        ),
        safety_critical_misses=_sum(len(c.safety_critical_misses) for c in cases),
        citation_validity=_ratio(
            _sum(c.citations_valid for c in cases),
            _sum(c.citations_checked + c.citations_removed for c in cases),
        ),
        required_citation_recall=_ratio(required - missing, required),
        unsupported_claim_rate=_ratio(
            _sum(c.unsupported_claims for c in cases), _sum(c.claims for c in cases)
        ),
        forbidden_claim_hits=_sum(len(c.forbidden_claim_hits) for c in cases),
        routing_accuracy=_ratio(sum(bool(c.route_correct) for c in routed), len(routed)),
        language_accuracy=_ratio(sum(c.language_correct for c in cases), n),
        latency_ms=latency,
        tokens_per_case=round(tokens / n, 1) if n else None,
        tokens_total=tokens,
        shared_prefix_fraction=round(sum(prefixes) / len(prefixes), 4) if prefixes else None,
        degraded=sum(c.degraded for c in cases),
        cards=suite_cards([c.cards for c in cases]),
    )


def suite_cards(cards: Sequence[CardMetrics]) -> dict[str, float | int | None]:
    n = len(cards)
    act = _sum(c.cards_act_now for c in cards)
    safety = _sum(c.safety_expected for c in cards)
    return {
        "act_now_per_case": round(act / n, 2) if n else None,
        "act_now_max": max((c.cards_act_now for c in cards), default=0),
        "cards_per_case": round(_sum(c.cards_total for c in cards) / n, 2) if n else None,
        "findings_merged": _sum(c.findings_merged for c in cards),
        "duplicates_left": _sum(c.duplicates_left for c in cards),
        "act_now_precision": _ratio(_sum(c.act_now_true for c in cards), act),
        "act_now_safety_recall": _ratio(_sum(c.safety_in_act_now for c in cards), safety),
        "not_in_act_now_hits": _sum(len(c.not_in_act_now_hits) for c in cards),
        "answer_chars_per_case": round(_sum(c.answer_chars for c in cards) / n, 1) if n else None,
    }
