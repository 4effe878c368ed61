"""Approvals settle: what a thread has decided is not asked again while its facts stand.

A proposal is keyed by what it does (``Proposal.id``: its kind and the FHIR reference it would
change) and by the facts behind it: ``facts_behind`` fingerprints the *rule* findings it is
because of (their ids, severities, summaries with the values in them, and the records they
cite). Model findings are left out: they vary between two runs over the same record.

Once a clinician decides a proposal (approve or reject), the thread keeps it as ``Settled``. The
next round's ``settle`` then sorts the proposals the rules make:

- decided before and the facts unchanged: not proposed again; the round lists it as standing
  ("Hold ibuprofen: approved by Dr Lin at ...");
- decided before and the facts changed (a new, higher potassium): proposed again, its
  ``changed`` saying what the decision was and what changed since;
- never decided: proposed. A proposal a question left waiting (a new question on a paused
  thread) stays pending, listed again, also when this round's findings no longer call for it.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, Field

from agents.approvals import Proposal, RecordedDecision
from agents.cards.words import suggestion_label
from core.domain import Finding


class Settled(BaseModel):
    """A proposal decided on this thread, with the facts it was decided on."""

    proposal: Proposal
    decision: Literal["approve", "reject"]
    approver: str
    approver_name: str = ""
    decided_at: str
    comment: str = ""
    decision_id: str = ""
    fingerprint: str = Field(description="facts_behind(proposal) when it was decided")
    facts: dict[str, str] = Field(
        default_factory=dict, description="the rule findings behind it (id: summary), when decided"
    )

    def said(self, language: str = "en") -> str:
        """'approved by Dr Lin (u-lin) at 2026-11-21T09:00:00+00:00'"""
        who = f"{self.approver_name} ({self.approver})" if self.approver_name else self.approver
        if language == "zh-TW":
            verb = "核准" if self.decision == "approve" else "拒絕"
            return f"已由 {who} 於 {self.decided_at} {verb}"
        verb = "approved" if self.decision == "approve" else "rejected"
        return f"{verb} by {who} at {self.decided_at}"


def facts_behind(proposal: Proposal, findings: Sequence[Finding]) -> tuple[str, dict[str, str]]:
    """(fingerprint, {finding id: summary}) of the rule findings a proposal is because of."""
    causes = [f for f in findings if f.id in proposal.because and f.origin == "rule"]
    keyed = sorted(
        [f.id, f.severity.value, f.summary, sorted(c.ref for c in f.citations)] for f in causes
    )
    body = json.dumps(
        {
            "kind": proposal.kind,
            "target": proposal.target,
            "summary": proposal.summary,
            "facts": keyed,
        },
        sort_keys=True,
        ensure_ascii=False,
    )
    facts = {f.id: f.summary for f in sorted(causes, key=lambda f: f.id)}
    return "sha256:" + hashlib.sha256(body.encode()).hexdigest(), facts


def settled_from(
    decided: Sequence[RecordedDecision],
    proposals: Sequence[Proposal],
    findings: Sequence[Finding],
) -> list[Settled]:
    """The thread's memory of decisions just recorded, each with the facts it was taken on."""
    by_id = {p.id: p for p in proposals}
    out = []
    for d in decided:
        proposal = by_id[d.proposal_id]
        fingerprint, facts = facts_behind(proposal, findings)
        out.append(
            Settled(
                proposal=proposal.model_copy(update={"changed": ""}),
                decision=d.decision,
                approver=d.approver,
                approver_name=d.approver_name,
                decided_at=d.decided_at,
                comment=d.comment,
                decision_id=d.decision_id,
                fingerprint=fingerprint,
                facts=facts,
            )
        )
    return out


def remember(before: Sequence[Settled], now: Sequence[Settled]) -> list[Settled]:
    """The latest decision per proposal, in the order first decided."""
    latest = {s.proposal.id: s for s in [*before, *now]}
    return list(latest.values())


@dataclass(frozen=True)
class Settlement:
    proposals: list[Proposal] = field(default_factory=list)
    """To decide now: new, changed since decided (``changed`` says how), or left pending."""
    standing: list[Settled] = field(default_factory=list)
    """Decided on this thread, facts unchanged: not proposed again."""


TOKENS = re.compile(r"\d+(?:\.\d+)?|[^\W\d]+|\S")
SHORT = 100
GENERIC = frozenset({"", "patient"})


def _short(text: str) -> str:
    return text if len(text) <= SHORT else text[: SHORT - 1].rstrip() + "…"


def _edits(old: str, new: str, none: str = "(none)") -> list[tuple[str, str]]:
    """(the word before, 'was → is') for each piece of a finding's summary that changed."""
    a, b = TOKENS.findall(old), TOKENS.findall(new)
    out = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag != "equal":
            words = [t for t in a[:i1] if t.isalpha()]
            change = f"{' '.join(a[i1:i2]) or none} → {' '.join(b[j1:j2]) or none}"
            out.append((words[-1] if words else "", change))
    return out


CHANGED = {
    "en": {
        "since": "{said}; since then: {changes}",
        "sep": "; ",
        "new": "new: {finding}",
        "no_longer": "no longer: {finding}",
        "new_results": "new results behind it",
        "none": "(none)",
    },
    "zh-TW": {
        "since": "{said}；此後：{changes}",
        "sep": "；",
        "new": "新發現：{finding}",
        "no_longer": "不再成立：{finding}",
        "new_results": "依據的結果已更新",
        "none": "（無）",
    },
}
"""The frame of ``what_changed`` in the answer's language; the findings' words and values inside
it stay as the rules wrote them (as on the cards: ``agents.cards.words``)."""


def what_changed(before: Settled, facts: dict[str, str], language: str = "en") -> str:
    """The decision, and what changed in the findings behind it since: values that moved
    ('potassium 6.4 → 7.1'), findings that are new, findings that no longer hold; framed in
    ``language`` ('已由 Dr Wu (dr-wu) 於 ... 拒絕；此後：potassium 6.4 → 7.1')."""
    words = CHANGED.get(language, CHANGED["en"])
    named: dict[str, str] = {}  # each change once, named by the word before it
    for fid in sorted(set(before.facts) & set(facts)):
        for word, change in _edits(before.facts[fid], facts[fid], words["none"]):
            if named.get(change, "") in GENERIC:  # 'potassium 6.4', not '(patient: 6.4)'
                named[change] = word
    said = [f"{word} {change}".strip() for change, word in named.items()]
    said += [words["new"].format(finding=_short(facts[f])) for f in facts if f not in before.facts]
    said += [
        words["no_longer"].format(finding=_short(before.facts[f]))
        for f in before.facts
        if f not in facts
    ]
    changes = words["sep"].join(said) or words["new_results"]
    return words["since"].format(said=before.said(language), changes=changes)


STILL_PENDING_IN = {
    "en": "left waiting by an earlier question; this round's findings no longer call for it",
    "zh-TW": "先前的問題留下待決定；本輪的發現已不再需要此處置",
}
STILL_PENDING = STILL_PENDING_IN["en"]


def settle(
    proposals: Sequence[Proposal],
    findings: Sequence[Finding],
    settled: Sequence[Settled],
    left_pending: Sequence[Proposal] = (),
    language: str = "en",
) -> Settlement:
    """Sort the proposals the rules make against what the thread decided (see the module);
    ``changed`` says it in ``language``, the answer's."""
    decided = {s.proposal.id: s for s in settled}
    ask: list[Proposal] = []
    standing: list[Settled] = []
    for proposal in proposals:
        before = decided.get(proposal.id)
        if before is None:
            ask.append(proposal)
            continue
        fingerprint, facts = facts_behind(proposal, findings)
        if fingerprint == before.fingerprint:
            standing.append(before)
        else:
            ask.append(
                proposal.model_copy(update={"changed": what_changed(before, facts, language)})
            )
    asked = {p.id for p in ask} | {s.proposal.id for s in standing}
    ask += [
        p.model_copy(update={"changed": p.changed or STILL_PENDING_IN.get(language, STILL_PENDING)})
        for p in left_pending
        if p.id not in asked
    ]
    return Settlement(ask, standing)


def left_waiting(
    proposals: Sequence[Proposal], decisions: Sequence[RecordedDecision]
) -> list[Proposal]:
    """The previous round's proposals that no recorded decision covers: a new question came
    while they waited (or their decision was not recorded)."""
    covered = {d.proposal_id for d in decisions}
    return [p for p in proposals if p.id not in covered]


WORDS = {
    "en": {
        "heading": "Decisions on this thread:",
        "standing": "{summary}: {said} (the facts behind it are unchanged: not proposed again)",
        "again": "{summary}: proposed again, {changed}",
    },
    "zh-TW": {
        "heading": "本對話串的處置決定：",
        "standing": "{summary}：{said}（所依據的事實未變：不再提出）",
        "again": "{summary}：再次提出，{changed}",
    },
}


def decisions_text(settlement: Settlement, language: str) -> str:
    """The answer's closing lines about what this thread decided ('' when nothing was)."""
    words = WORDS.get(language, WORDS["en"])
    lines = [
        words["standing"].format(
            summary=suggestion_label(s.proposal.summary, language), said=s.said(language)
        )
        for s in settlement.standing
    ]
    lines += [
        words["again"].format(summary=suggestion_label(p.summary, language), changed=p.changed)
        for p in settlement.proposals
        if p.changed
    ]
    if not lines:
        return ""
    return "\n".join([words["heading"], *(f"- {line}" for line in lines)])
