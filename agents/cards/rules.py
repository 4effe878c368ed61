"""The merge, tie and topic rules of ``data/cards/problems.yaml``, and the tests a finding meets.

The rules are data so that a new kind of finding (an unresolved drug, a note-only allergy) falls
into a card by adding a line, not code.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agents.cards.model import Tier
from core.domain import Finding
from core.errors import DataFileError
from core.settings import SHIPPED_DATA
from tools.labs.ranges import range_for

PROBLEMS_FILE = SHIPPED_DATA / "cards" / "problems.yaml"


class _Rule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Match(_Rule):
    """Holds when every field given holds."""

    kinds: tuple[str, ...] = ()
    id: str = ""
    kg: str = ""
    labs: tuple[str, ...] = ()

    def holds(self, finding: Finding) -> bool:
        if self.kinds and finding.kind not in self.kinds:
            return False
        if self.id and not re.search(self.id, finding.id):
            return False
        if self.kg and not cites_kg(finding, self.kg):
            return False
        return not self.labs or bool(analytes(finding.labs) & analytes(self.labs))


class Problem(_Rule):
    id: str
    title: dict[str, str]
    topics: tuple[str, ...] = ()
    act_now_when_worsening: bool = False
    act_now_needs_drugs: bool = False
    tier: Tier | None = None
    match: tuple[Match, ...]


class GuidelineTie(_Rule):
    recommendations: tuple[str, ...]
    joins: str
    when_card_cites: str = ""


class NotApplicable(_Rule):
    recommendations: tuple[str, ...]
    needs_conditions: tuple[str, ...]


class Topic(_Rule):
    words: tuple[str, ...]
    kg: str = ""
    labs: tuple[str, ...] = ()
    drugs: tuple[str, ...] = ()

    def asked(self, question: str) -> bool:
        text = question.lower()
        return any(w.lower() in text for w in self.words)

    def covers(self, finding: Finding) -> bool:
        if self.kg and cites_kg(finding, self.kg):
            return True
        if self.labs and analytes(finding.labs) & analytes(self.labs):
            return True
        return any(d.lower() in self.drugs for d in finding.drugs)


class CardRules(_Rule):
    problems: tuple[Problem, ...]
    guideline_ties: tuple[GuidelineTie, ...] = ()
    not_applicable: tuple[NotApplicable, ...] = ()
    topics: dict[str, Topic] = Field(default_factory=dict)

    def problem(self, problem_id: str) -> Problem | None:
        return next((p for p in self.problems if p.id == problem_id), None)

    def problem_of(self, finding: Finding) -> Problem | None:
        return next((p for p in self.problems if any(m.holds(finding) for m in p.match)), None)


def cites_kg(finding: Finding, pattern: str) -> bool:
    return any(c.kind == "kg" and re.search(pattern, c.ref) for c in finding.citations)


def analytes(loincs: tuple[str, ...] | list[str]) -> set[str]:
    """The canonical LOINC of each code (creatinine 14682-9 and 2160-0 are one analyte)."""
    out = set()
    for code in loincs:
        rr = range_for(code)
        out.add(rr.loinc if rr else code)
    return out


def recommendation_id(finding: Finding) -> str:
    """'kdigo-aki-2012-3.1.2' of 'recommendation:kg:Recommendation/kdigo-aki-2012-3.1.2'."""
    return finding.id.rsplit("/", 1)[-1]


@cache
def card_rules(path: Path = PROBLEMS_FILE) -> CardRules:
    try:
        with path.open(encoding="utf-8") as handle:
            return CardRules.model_validate(yaml.safe_load(handle))
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise DataFileError(str(exc), file=str(path)) from exc
