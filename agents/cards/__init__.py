"""From rule findings to what a ward reads: problem cards in tiers (ARCHITECTURE §9).

Rule findings stay the record (``findings[]``: complete, cited, never removed by the model); the
cards group them by clinical problem, place each in a tier and order them by the question.
"""

from agents.cards.build import CardContext, build_cards
from agents.cards.model import TIERS, Card, CardSource, Suggestion, Tier
from agents.cards.render import cards_block

__all__ = [
    "TIERS",
    "Card",
    "CardContext",
    "CardSource",
    "Suggestion",
    "Tier",
    "build_cards",
    "cards_block",
]
