"""Rule findings → problem cards, in tiers, in the order the question asks for.

1. Each finding joins the problem ``data/cards/problems.yaml`` gives it; one that no problem takes
   joins a card of its analyte (results) or of its first drug. An interaction whose effect is
   already under way joins the card of the analyte that shows it.
2. A guideline recommendation joins the card whose management it changes (``guideline_ties``);
   one that needs a diagnosis the patient lacks does not apply; the rest are statements not tied
   to a finding: For information (Review when the question asks for guidelines).
3. A card keeps the highest severity and every source and citation of its findings. Act now: a
   high or critical finding, or an out-of-range analyte worse than its baseline where the problem
   says so; at most ``ACT_NOW_MAX`` unless more are critical. Review: the rest with a finding of
   low severity or more. For information: what is left.
4. Within a tier, cards the question is about come first, then by severity. Relevance only
   reorders: no card changes tier because of the question.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from agents.cards.model import TIERS, Card, CardSource, Indicator, Suggestion, Tier
from agents.cards.rules import CardRules, Problem, analytes, card_rules, cites_kg, recommendation_id
from agents.cards.sources import source_links
from agents.cards.words import (
    finding_text,
    frame,
    generic_summary,
    kidney_phrase,
    problem_summary,
    suggestion_label,
)
from core.domain import Finding, Severity

ACT_NOW_MAX = 5
"""Issue 14: "at most about five cards a ward team must act on today"."""
STATEMENTS = "guideline-statements"
NOT_APPLICABLE = "guideline-not-applicable"
_INDICATOR: dict[Severity, Indicator] = {
    Severity.critical: "critical",
    Severity.high: "warning",
    Severity.moderate: "warning",
    Severity.low: "info",
    Severity.info: "info",
}


@dataclass(frozen=True)
class CardContext:
    """What the cards are built for: the question, its language, the patient's diagnoses."""

    question: str
    language: str = "en"
    conditions: frozenset[str] = frozenset()
    """ICD-10-CM codes on the problem list."""
    proposals: Sequence[dict[str, Any]] = ()
    """The round's proposals (``agents.approvals.Proposal`` dumps): the cards' suggestions."""


@dataclass
class _Group:
    key: str
    problem: Problem | None
    findings: list[Finding] = field(default_factory=list)
    guidelines: list[Finding] = field(default_factory=list)

    @property
    def all(self) -> list[Finding]:
        return [*self.findings, *self.guidelines]


def _severest(findings: Sequence[Finding]) -> Severity:
    return max((f.severity for f in findings), key=lambda s: s.rank, default=Severity.info)


def _ranked(findings: Sequence[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: -f.severity.rank)


def _lab_key(rules: CardRules, labs: tuple[str, ...]) -> str:
    """The problem that claims these labs, else one card per analyte."""
    probe = Finding(id="", kind="lab_flag", severity=Severity.info, summary="", labs=labs)
    problem = rules.problem_of(probe)
    return problem.id if problem else f"lab:{sorted(analytes(labs))[0]}"


def _key(rules: CardRules, finding: Finding) -> str:
    problem = rules.problem_of(finding)
    if problem is not None:
        return problem.id
    if finding.labs:  # a result, a score, or a drug effect the results already show
        return _lab_key(rules, finding.labs)
    if finding.drugs:
        return f"drug:{finding.drugs[0].lower()}"
    return f"kind:{finding.kind}"


def _group(rules: CardRules, findings: Sequence[Finding], ctx: CardContext) -> dict[str, _Group]:
    groups: dict[str, _Group] = {}
    recommendations = []
    for f in _ranked(findings):
        if f.kind == "recommendation":
            recommendations.append(f)
            continue
        key = _key(rules, f)
        groups.setdefault(key, _Group(key, rules.problem(key))).findings.append(f)
    _merge_drug_cards(groups)
    for rec in recommendations:
        key = _recommendation_key(rules, rec, groups, ctx)
        group = groups.setdefault(key, _Group(key, rules.problem(key)))
        (group.guidelines if group.findings else group.findings).append(rec)
    return groups


_DRUG_SUBJECT_KINDS = frozenset({"interaction", "contraindication", "allergy_conflict"})


def _drugs_of(group: _Group) -> set[str]:
    return {d.lower() for f in group.findings if f.kind in _DRUG_SUBJECT_KINDS for d in f.drugs}


def _merge_drug_cards(groups: dict[str, _Group]) -> None:
    """A drug's own card joins the card that already holds that drug (a problem card first): a
    drug is one problem, not one card per interaction partner."""
    merged = True
    while merged:
        merged = False
        for key in [k for k in groups if k.startswith("drug:")]:
            drugs = _drugs_of(groups[key])
            hosts = [g for k, g in groups.items() if k != key and drugs & _drugs_of(g)]
            if not hosts:
                continue
            host = min(hosts, key=lambda g: (g.key.startswith("drug:"), list(groups).index(g.key)))
            host.findings.extend(groups.pop(key).findings)
            merged = True
            break


def _recommendation_key(
    rules: CardRules, rec: Finding, groups: dict[str, _Group], ctx: CardContext
) -> str:
    rid = recommendation_id(rec)
    for rule in rules.not_applicable:
        if rid in rule.recommendations and not any(
            code.startswith(prefix) for code in ctx.conditions for prefix in rule.needs_conditions
        ):
            return NOT_APPLICABLE
    for tie in rules.guideline_ties:
        target = groups.get(tie.joins)
        if rid not in tie.recommendations or target is None or not target.findings:
            continue
        if not tie.when_card_cites or any(
            cites_kg(f, tie.when_card_cites) for f in target.findings
        ):
            return tie.joins
    return STATEMENTS


def _worsening(group: _Group, problem: Problem) -> bool:
    """Out of range now and worse than its baseline (a lab trend that is not 'normalised'); with
    ``act_now_needs_drugs``, only on a drug the card names (an INR on an anticoagulant)."""
    flagged = any(
        f.kind == "lab_flag" and f.severity.rank >= Severity.low.rank for f in group.findings
    )
    worse = any(
        f.kind == "lab_trend" and f.severity.rank >= Severity.moderate.rank for f in group.findings
    )
    on_drugs = any(f.kind in _DRUG_SUBJECT_KINDS for f in group.findings)
    return flagged and worse and (on_drugs or not problem.act_now_needs_drugs)


def _tier(group: _Group, ctx: CardContext, rules: CardRules) -> Tier:
    severity = _severest(group.findings)
    if severity.rank >= Severity.high.rank:
        return "act_now"  # a high or critical finding is never put lower, whatever the data says
    problem = group.problem
    if problem is not None and problem.act_now_when_worsening and _worsening(group, problem):
        return "act_now"
    if group.key == STATEMENTS:
        asked = rules.topics.get("guidelines")
        return "review" if asked is not None and asked.asked(ctx.question) else "for_information"
    if group.key == NOT_APPLICABLE:
        return "for_information"
    if problem is not None and problem.tier is not None:
        return problem.tier
    return "review" if severity.rank >= Severity.low.rank else "for_information"


def _topics(group: _Group, rules: CardRules) -> list[str]:
    named = set(group.problem.topics if group.problem else ())
    named |= {name for name, t in rules.topics.items() if any(t.covers(f) for f in group.findings)}
    return sorted(named)


def _relevance(group: _Group, topics: list[str], ctx: CardContext, rules: CardRules) -> int:
    """How many of the question's topics the card is about, plus one per drug it names."""
    asked = {name for name, t in rules.topics.items() if t.asked(ctx.question)}
    question = ctx.question.lower()
    drugs = {d.lower() for f in group.findings for d in f.drugs}
    return len(asked & set(topics)) + sum(1 for d in drugs if d in question)


def _summary(group: _Group, kidney: str, ctx: CardContext) -> str:
    words = frame(ctx.language)
    if group.key == STATEMENTS:
        return words["statements"].format(n=len(group.all))
    if group.key == NOT_APPLICABLE:
        return words["not_applicable"].format(n=len(group.all))
    if group.problem is not None:
        return problem_summary(group.problem, group.findings, kidney=kidney, language=ctx.language)
    return generic_summary(group.findings, ctx.language)


def finding_line(f: Finding, language: str = "en") -> str:
    """'- [HIGH] rule text [refs]'; the severity tag in the answer's language ('[高]')."""
    refs = ", ".join(c.ref for c in f.citations)
    tag = frame(language).get(f.severity.value, f.severity.value.upper())
    return f"- [{tag}] {finding_text(f, language)}" + (f" [{refs}]" if refs else "")


def _detail(group: _Group, language: str) -> str:
    lines = [finding_line(f, language) for f in group.findings]
    if group.guidelines:
        lines.append(frame(language)["guidelines_heading"])
        lines.extend(finding_line(f, language) for f in group.guidelines)
    return "\n".join(lines)


def _sources(findings: Sequence[Finding]) -> list[CardSource]:
    """Each source once, most severe first, with its link (``data/cards/sources.yaml``)."""
    links = source_links()
    urls: dict[str, str] = {}
    for f in _ranked(findings):
        if f.source:
            urls[f.source] = urls.get(f.source) or links.for_finding(f)
    return [CardSource(label=label, url=url) for label, url in urls.items()]


def _card(group: _Group, kidney: str, ctx: CardContext, rules: CardRules) -> tuple[Card, int]:
    severity = _severest(group.findings)
    sources = _sources(group.all)
    topics = _topics(group, rules)
    relevance = _relevance(group, topics, ctx, rules)
    card = Card(
        id=group.key,
        tier=_tier(group, ctx, rules),
        indicator=_INDICATOR[severity],
        severity=severity.value,
        summary=_summary(group, kidney, ctx),
        detail=_detail(group, ctx.language),
        source=sources[0] if sources else CardSource(label="wardround rules"),
        sources=sources,
        finding_ids=[f.id for f in group.all],
        citations=list(dict.fromkeys(c.ref for f in group.all for c in f.citations)),
        topics=topics,
        relevant=relevance > 0,
    )
    return card, relevance


def _capped(cards: list[tuple[Card, int]]) -> list[tuple[Card, int]]:
    """Act now keeps its critical cards and the most severe others up to ``ACT_NOW_MAX``."""
    act = sorted(
        (c for c in cards if c[0].tier == "act_now"),
        key=lambda c: -Severity(c[0].severity).rank,
    )
    keep = {id(c) for i, c in enumerate(act) if i < ACT_NOW_MAX or c[0].severity == "critical"}
    return [
        (c[0].model_copy(update={"tier": "review"}), c[1])
        if c[0].tier == "act_now" and id(c) not in keep
        else c
        for c in cards
    ]


def _with_suggestions(
    cards: list[Card], proposals: Sequence[dict[str, Any]], language: str
) -> list[Card]:
    """Each proposal on the first card (in reading order) holding a finding behind it."""
    placed: set[str] = set()
    out = []
    for card in cards:
        mine = [
            p for p in proposals
            if p.get("id") not in placed and set(p.get("because") or ()) & set(card.finding_ids)
        ]  # fmt: skip
        placed.update(str(p.get("id")) for p in mine)
        suggestions = [
            Suggestion(
                label=suggestion_label(str(p["summary"]), language), proposal_id=str(p["id"])
            )
            for p in mine
        ]
        out.append(card.model_copy(update={"suggestions": suggestions}) if mine else card)
    return out


def build_cards(
    findings: Sequence[Finding], ctx: CardContext, rules: CardRules | None = None
) -> list[Card]:
    """Every finding in exactly one card; cards by tier, then relevance, then severity."""
    rules = rules or card_rules()
    groups = _group(rules, findings, ctx)
    kidney = kidney_phrase(findings, any(c.startswith("N18") for c in ctx.conditions), ctx.language)
    cards = _capped([_card(g, kidney, ctx, rules) for g in groups.values()])
    order = sorted(
        enumerate(cards),
        key=lambda ic: (
            TIERS.index(ic[1][0].tier),
            -ic[1][1],
            -Severity(ic[1][0].severity).rank,
            ic[0],
        ),
    )
    return _with_suggestions([c for _, (c, _) in order], ctx.proposals, ctx.language)
