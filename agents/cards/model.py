"""A problem card: the shape of a CDS Hooks card (summary, indicator, detail, source,
suggestions) plus the tier it sits in and the rule findings it carries.

CDS Hooks 2.0, "Card Attributes" (https://cds-hooks.hl7.org/2.0/#card-attributes): ``summary``
under 140 characters, ``indicator`` one of info / warning / critical, ``detail`` in markdown,
``source`` with a label and an optional url, ``suggestions`` the actions the card proposes.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Tier = Literal["act_now", "review", "for_information"]
TIERS: tuple[Tier, ...] = ("act_now", "review", "for_information")
Indicator = Literal["critical", "warning", "info"]
SUMMARY_MAX = 139
"""CDS Hooks: "summary ... SHALL be less than 140 characters"."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class CardSource(_Frozen):
    label: str
    url: str = ""


class Suggestion(_Frozen):
    """One of the round's proposals (``agents.approvals.Proposal``): it waits for approval."""

    label: str
    proposal_id: str


class Card(_Frozen):
    id: str = Field(description="the problem it is about, e.g. 'kidney-harming-medicines'")
    tier: Tier
    indicator: Indicator
    severity: str = Field(description="the highest severity of its findings, in words")
    summary: str = Field(max_length=SUMMARY_MAX)
    detail: str = Field(description="each finding on its line with its citations (markdown)")
    source: CardSource = Field(description="the source of its most severe finding")
    sources: list[CardSource] = Field(default_factory=list, description="every source, once")
    suggestions: list[Suggestion] = Field(default_factory=list)
    finding_ids: list[str] = Field(description="the rule findings merged into this card")
    citations: list[str] = Field(default_factory=list, description="every citation ref, once")
    topics: list[str] = Field(default_factory=list)
    relevant: bool = Field(default=False, description="the question is about this problem")
