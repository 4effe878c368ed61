"""Where a note names a drug, an allergen or a pregnancy: spans of a sentence, with what the
knowledge graph calls them.

Drug and allergen names are the knowledge graph's own: the names, synonyms and brands of its drugs
(``data/kg/drugs.csv``, with the brand names of ``data/resolve/brands.yaml``, 可邁丁 = warfarin)
and the terms of its allergy classes (``data/kg/drug_classes.yaml``), read from the files the
graph is loaded from, so the note itself never travels to the graph store or into its audit
events; no list of names is kept here. Every run of one to four English words and
of two to eight Chinese characters is a candidate; of overlapping matches the longest wins
("piperacillin/tazobactam" over "piperacillin"). Chinese allergen class words (盤尼西林
penicillin) come from the sourced table in ``data/notes/targets.yaml``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

from core.settings import SHIPPED_DATA
from kg.datafiles import read_csv, read_yaml, split_list
from tools.notes.context import NOTES_DATA
from tools.resolve.med_maps import medication_maps

KG_DATA = SHIPPED_DATA / "kg"

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-/][A-Za-z0-9]+)*")
_HAN = re.compile(r"[\u4e00-\u9fff]+")
_MAX_WORDS, _MAX_HAN = 4, 8
# Words that neither start nor end a drug name; they would only multiply the look-ups.
_STOP = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "he", "her",
    "his", "in", "is", "it", "of", "on", "or", "she", "the", "to", "was", "were", "with", "no",
    "not", "daily", "bd", "tds", "od", "mg",
})  # fmt: skip


@dataclass(frozen=True)
class Targets:
    allergy: tuple[re.Pattern[str], ...]
    pregnancy: tuple[re.Pattern[str], ...]
    allergen_terms: dict[str, str]
    source: str


@cache
def targets(directory: Path = NOTES_DATA) -> Targets:
    data = yaml.safe_load((directory / "targets.yaml").read_text("utf-8"))

    def compiled(group: dict[str, list[str]]) -> tuple[re.Pattern[str], ...]:
        return tuple(re.compile(p, re.IGNORECASE) for ps in group.values() for p in ps)

    return Targets(
        allergy=compiled(data["allergy"]),
        pregnancy=compiled(data["pregnancy"]),
        allergen_terms={str(k): str(v) for k, v in data["allergen_terms"].items()},
        source=data["source"],
    )


def spans_of(patterns: Iterable[re.Pattern[str]], sentence: str) -> list[tuple[int, int]]:
    """Where the patterns match, longest first, none overlapping another."""
    found = {(m.start(), m.end()) for p in patterns for m in p.finditer(sentence)}
    kept: list[tuple[int, int]] = []
    for s, e in sorted(found, key=lambda span: (span[0] - span[1], span[0])):
        if all(e <= ks or s >= ke for ks, ke in kept):
            kept.append((s, e))
    return sorted(kept)


def candidates(sentence: str) -> list[tuple[int, int, str]]:
    """(start, end, text) of every word run and Chinese character run that could be a name."""
    out: list[tuple[int, int, str]] = []
    words = list(_WORD.finditer(sentence))
    for i, first in enumerate(words):
        for j in range(i, min(i + _MAX_WORDS, len(words))):
            last = words[j]
            if j > i and sentence[words[j - 1].end() : last.start()].strip(" /"):
                break  # only words joined by spaces or a slash make one name
            text = sentence[first.start() : last.end()]
            low = [first.group().lower(), last.group().lower()]
            if low[0] in _STOP or low[1] in _STOP or len(text) < 3:
                continue
            if j > i and low[1].startswith("allerg"):
                continue  # "penicillin allergy": the allergen is "penicillin", the rest its cue
            out.append((first.start(), last.end(), text))
    for run in _HAN.finditer(sentence):
        chars = run.group()
        for size in range(2, min(_MAX_HAN, len(chars)) + 1):
            for k in range(len(chars) - size + 1):
                start = run.start() + k
                out.append((start, start + size, chars[k : k + size]))
    return out


@dataclass(frozen=True)
class Known:
    """What the KG calls a candidate: the drug(s) it names (none for an allergy class), and the
    term to hand the allergy check (the English class term for a Chinese class word)."""

    term: str
    drug_names: tuple[str, ...] = ()


@dataclass
class Vocabulary:
    drugs: dict[str, Known] = field(default_factory=dict)
    allergens: dict[str, Known] = field(default_factory=dict)
    """Drugs and allergy classes: what a sentence about an allergy may name."""

    def get(self, text: str, *, allergen: bool = False) -> Known | None:
        return (self.allergens if allergen else self.drugs).get(_norm(text))


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


@cache
def vocabulary(kg_data: Path = KG_DATA) -> Vocabulary:
    """The KG's drug names, synonyms and brands (and the brand and local names medication
    resolution maps to KG drugs, ``data/resolve/brands.yaml``), and its allergy classes' terms."""
    vocab = Vocabulary()
    for _, row in read_csv(kg_data / "drugs.csv"):
        name = row["name"].strip()
        for term in [name, *(split_list(row.get(k) or "") for k in ("synonyms", "brands"))]:
            for text in [term] if isinstance(term, str) else term:
                known = vocab.drugs.get(_norm(text))
                names = (*known.drug_names, name) if known else (name,)
                vocab.drugs[_norm(text)] = Known(term=_norm(text), drug_names=names)
    for brand, brand_row in medication_maps().brands.items():  # Taiwan/Hong Kong names too
        vocab.drugs.setdefault(_norm(brand), Known(_norm(brand), tuple(brand_row.ingredients)))
    vocab.allergens.update(vocab.drugs)
    classes = read_yaml(kg_data / "drug_classes.yaml")["classes"]
    for cls in classes:
        if cls.get("kind") == "allergy":
            for term in [cls["id"], cls["name"], *(cls.get("terms") or [])]:
                vocab.allergens.setdefault(_norm(str(term)), Known(term=_norm(str(term))))
    for word, term in targets().allergen_terms.items():
        vocab.allergens[_norm(word)] = Known(term=term)
    return vocab


def mentions(
    sentence: str, vocab: Vocabulary, *, allergen: bool = False
) -> list[tuple[int, int, Known]]:
    """Known names in the sentence (drugs; drugs and allergens in a sentence about an allergy),
    longest first, none overlapping another."""
    hits = [
        (s, e, k)
        for s, e, text in candidates(sentence)
        if (k := vocab.get(text, allergen=allergen))
    ]
    kept: list[tuple[int, int, Known]] = []
    for s, e, k in sorted(hits, key=lambda h: (h[0] - h[1], h[0])):
        if all(e <= ks or s >= ke for ks, ke, _ in kept):
            kept.append((s, e, k))
    return sorted(kept, key=lambda h: h[0])
