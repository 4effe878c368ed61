"""Cards as text, by tier: what the answer, the CLI and the OpenAI facade show.

Act now and Review show each card's findings with their citations underneath; For information
is collapsed to one line per card (its findings stay in the card's ``detail`` and in
``findings[]``). The block opens with the rules' heading (``agents.common.HEADINGS``) so that a
thread's later questions still read an earlier answer's prose without it.
"""

from __future__ import annotations

from collections.abc import Sequence

from agents.cards.model import TIERS, Card
from agents.cards.words import frame
from agents.common import HEADINGS


def _card_lines(number: int, card: Card, language: str) -> list[str]:
    severity = frame(language).get(card.severity, card.severity.upper())
    lines = [f"{number}. [{severity}] {card.summary}"]
    lines.extend(f"   {line}" for line in card.detail.splitlines())
    if card.suggestions:
        words = frame(language)
        proposed = ("; " if language == "en" else "；").join(s.label for s in card.suggestions)
        lines.append(
            "   " + words["suggested_line"].format(label=words["suggested"], proposed=proposed)
        )
    return lines


def cards_block(cards: Sequence[Card], language: str) -> str:
    """The cards under an answer ('' when there are none)."""
    if not cards:
        return ""
    words = frame(language)
    lines = [HEADINGS.get(language, HEADINGS["en"])[0]]
    number = 0
    for tier in TIERS:
        mine = [c for c in cards if c.tier == tier]
        if not mine:
            continue
        if tier == "for_information":
            lines.append(
                words["collapsed_line"].format(
                    tier=words[tier],
                    n=len(mine),
                    cards=words["cards"],
                    collapsed=words["collapsed"],
                )
            )
            lines.extend(f"- {c.summary}" for c in mine)
            continue
        lines.append(words[tier])
        for card in mine:
            number += 1
            lines.extend(_card_lines(number, card, language))
    return "\n".join(lines)
