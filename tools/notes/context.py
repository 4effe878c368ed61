"""ConText (Harkema H et al. J Biomed Inform 2009;42:839-51): is a thing a note mentions denied,
past, hypothetical, possible or someone else's?

A sentence's trigger terms (``data/notes/context_<language>.yaml``) each modify the targets in
their scope: a forward trigger the targets after it, a backward trigger those before it, up to
the end of the sentence or the first terminator ("but", "switched to", 但是, 目前...); a "self"
trigger ("no known drug allergies", 無已知藥物過敏) modifies what it contains. Pseudo-triggers
("no increase", 非類固醇) take their words out of play. Matching is on words in English and on
characters in Chinese (no spaces to split on). Deterministic, no model; medspaCy's ConText was not
used because medspacy 1.3.1 on Python 3.11 needs spaCy < 3.8, whose thinc needs numpy < 2 (we pin
numpy 2.4), and it would bring about 40 MB of spaCy for a few hundred lines of rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from core.settings import SHIPPED_DATA

NOTES_DATA = SHIPPED_DATA / "notes"
CATEGORIES = ("negated", "historical", "hypothetical", "possible", "family")
DIRECTIONS = ("forward", "backward", "self")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|[\r\n]+|(?<=[。！？])")


@dataclass(frozen=True)
class Trigger:
    category: str
    """negated | historical | hypothetical | possible | family | pseudo | terminate"""
    direction: str
    """forward | backward | self, or the category again for pseudo and terminate"""
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class Match:
    start: int
    end: int
    category: str
    direction: str


@dataclass(frozen=True)
class Lexicon:
    language: str
    source: str
    triggers: tuple[Trigger, ...]


def _bounded(term: str, words: bool) -> str:
    """In English a term matches whole words ("no" is not in "know"); a term that starts or ends
    with punctuation ("?", ": none") is bounded only on its word side."""
    pattern = re.escape(term)
    if words and term[:1].isalnum():
        pattern = rf"(?<!\w){pattern}"
    if words and term[-1:].isalnum():
        pattern = rf"{pattern}(?!\w)"
    return pattern


def _compile(terms: list[object], words: bool) -> re.Pattern[str]:
    """One pattern for a group of terms, longest first so "no known" wins over "no"."""
    ordered = sorted({str(t) for t in terms}, key=lambda t: (-len(t), t))
    return re.compile("|".join(_bounded(t, words) for t in ordered), re.IGNORECASE)


def _triggers(data: dict[str, object], words: bool) -> list[Trigger]:
    out: list[Trigger] = []
    for category in CATEGORIES:
        groups = data.get(category) or {}
        assert isinstance(groups, dict), category
        for direction in DIRECTIONS:
            if terms := groups.get(direction):
                out.append(Trigger(category, direction, _compile(terms, words)))
    for category in ("pseudo", "terminate"):
        terms = data.get(category) or []
        assert isinstance(terms, list), category
        out.append(Trigger(category, category, _compile(terms, words)))
    return out


@cache
def lexicon(language: str, directory: Path = NOTES_DATA) -> Lexicon:
    """The trigger lexicon of ``language`` ('en' or 'zh')."""
    data = yaml.safe_load((directory / f"context_{language}.yaml").read_text("utf-8"))
    return Lexicon(language, data["source"], tuple(_triggers(data, words=language == "en")))


def sentences(text: str) -> list[tuple[int, str]]:
    """(offset, sentence): split at ". ", "!", "?", line breaks and 。！？."""
    out: list[tuple[int, str]] = []
    start = 0
    for boundary in _SENTENCE_END.finditer(text):
        if text[start : boundary.start()].strip():
            out.append((start, text[start : boundary.start()]))
        start = boundary.end()
    if text[start:].strip():
        out.append((start, text[start:]))
    return out


def find_triggers(sentence: str, lex: Lexicon) -> list[Match]:
    """Every trigger in the sentence; of overlapping ones, the longest wins (so "no known drug
    allergies" is one self trigger, not "no" followed by a target)."""
    found = [
        Match(m.start(), m.end(), t.category, t.direction)
        for t in lex.triggers
        for m in t.pattern.finditer(sentence)
    ]
    kept: list[Match] = []
    for match in sorted(found, key=lambda m: (m.start - m.end, m.start)):
        if all(match.end <= k.start or match.start >= k.end for k in kept):
            kept.append(match)
    return sorted(kept, key=lambda m: m.start)


def _blocked(start: int, end: int, triggers: list[Match]) -> bool:
    return any(t.category == "terminate" and start <= t.start < end for t in triggers)


def _in_scope(t: Match, start: int, end: int, triggers: list[Match]) -> bool:
    if t.direction == "self":
        return t.start <= start and end <= t.end
    if t.direction == "forward":
        return t.end <= start and not _blocked(t.end, start, triggers)
    return t.direction == "backward" and t.start >= end and not _blocked(end, t.start, triggers)


def modifiers(start: int, end: int, triggers: list[Match]) -> frozenset[str]:
    """The categories whose triggers have the target ``[start, end)`` in scope."""
    return frozenset(
        t.category
        for t in triggers
        if t.category not in ("pseudo", "terminate") and _in_scope(t, start, end, triggers)
    )


def same_clause(a: int, b: int, triggers: list[Match]) -> bool:
    """No terminator between offsets ``a`` and ``b`` of one sentence."""
    return not _blocked(min(a, b), max(a, b), triggers)


def has_chinese(text: str) -> bool:
    return re.search(r"[\u4e00-\u9fff]", text) is not None


def sentence_triggers(sentence: str) -> list[Match]:
    """English triggers, and Chinese ones too where the sentence has Chinese (Taiwanese notes
    often write the drug, or a whole phrase, in English)."""
    lex = lexicon("en")
    if has_chinese(sentence):
        zh = lexicon("zh")
        lex = Lexicon("zh+en", zh.source, zh.triggers + lex.triggers)
    return find_triggers(sentence, lex)
