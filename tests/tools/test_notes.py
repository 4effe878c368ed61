"""Notes read with ConText rules (tools.notes): allergies, current drugs and pregnancy written in
English or Traditional Chinese, with negation, history, hypotheticals and family respected, matched
against the KG's drug names and allergy classes (the shipped files it is loaded from)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.domain import Note
from tools.notes import read_notes
from tools.notes.context import lexicon, modifiers, sentence_triggers

WRITTEN = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def facts_of(text: str) -> list[tuple[str, str, str]]:
    note = Note(ref="DocumentReference/n1", text=text, date=WRITTEN)
    return [(f.kind, f.term, f.status) for f in read_notes([note])]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Allergic to penicillin (anaphylaxis 2015).", [("allergy", "penicillin", "affirmed")]),
        ("Penicillin allergy - rash.", [("allergy", "penicillin", "affirmed")]),
        ("History of anaphylaxis to penicillin.", [("allergy", "penicillin", "affirmed")]),
        ("Not allergic to penicillin.", [("allergy", "penicillin", "negated")]),
        ("No history of penicillin allergy.", [("allergy", "penicillin", "negated")]),
        ("Family history of penicillin allergy (mother).", [("allergy", "penicillin", "family")]),
        ("Allergies: sulfa (rash), codeine (vomiting).",
         [("allergy", "sulfa", "affirmed"), ("allergy", "codeine", "affirmed")]),
        ("Allergic to penicillin but tolerated cephalexin.",
         [("allergy", "penicillin", "affirmed"), ("medication", "cephalexin", "negated")]),
    ],
)  # fmt: skip
def test_english_allergies_with_negation_history_and_family(
    text: str, expected: list[tuple[str, str, str]]
) -> None:
    assert facts_of(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Denies allergies.",
        "No known drug allergy.",
        "NKDA.",
        "Allergies: none.",
        "Nil known drug allergies.",
    ],
)
def test_no_known_allergy_is_no_allergy(text: str) -> None:
    assert [f for f in facts_of(text) if f[0] == "allergy"] == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Takes warfarin 5 mg daily for AF.", [("medication", "warfarin", "affirmed")]),
        ("82-year-old woman on warfarin, INR 2.5.", [("medication", "warfarin", "affirmed")]),
        ("Previously on warfarin, switched to apixaban in 2023.",
         [("medication", "warfarin", "historical"), ("medication", "apixaban", "affirmed")]),
        ("Warfarin was stopped in 2019.", [("medication", "warfarin", "historical")]),
        ("Plan to start apixaban if CT clear.", [("medication", "apixaban", "hypothetical")]),
        ("Never taken warfarin.", [("medication", "warfarin", "negated")]),
    ],
)  # fmt: skip
def test_english_drugs_current_or_history(text: str, expected: list[tuple[str, str, str]]) -> None:
    assert facts_of(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("對盤尼西林過敏（休克）。", [("allergy", "penicillin", "affirmed")]),
        ("對 penicillin 過敏。", [("allergy", "penicillin", "affirmed")]),
        ("無已知藥物過敏。", []),
        ("病人否認藥物過敏，目前服用 amlodipine。", [("medication", "amlodipine", "affirmed")]),
        ("否認對盤尼西林過敏。", [("allergy", "penicillin", "negated")]),
        ("家族史：母親對盤尼西林過敏。", [("allergy", "penicillin", "family")]),
        ("以前服用 warfarin，目前改用 apixaban。",
         [("medication", "warfarin", "historical"), ("medication", "apixaban", "affirmed")]),
        ("曾服用 warfarin，已停藥。", [("medication", "warfarin", "historical")]),
        ("目前服用可邁丁（Coumadin）。", [("medication", "可邁丁", "affirmed"),
                                        ("medication", "coumadin", "affirmed")]),
        ("懷孕 12 週。", [("pregnancy", "pregnancy", "affirmed")]),
        ("未懷孕。", [("pregnancy", "pregnancy", "negated")]),
    ],
)  # fmt: skip
def test_traditional_chinese_notes(text: str, expected: list[tuple[str, str, str]]) -> None:
    assert facts_of(text) == expected


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("She is 12 weeks pregnant.", "affirmed"),
        ("Intrauterine pregnancy at 8+3 weeks gestation.", "affirmed"),
        ("Not pregnant.", "negated"),
        ("Previous pregnancy complicated by pre-eclampsia in 2019.", "historical"),
        ("Possible pregnancy: hCG sent.", "possible"),
    ],
)
def test_pregnancy_in_english(text: str, status: str) -> None:
    assert {f[2] for f in facts_of(text) if f[0] == "pregnancy"} == {status}


def test_a_trigger_scope_ends_at_a_terminator() -> None:
    sentence = "No chest pain but allergy to penicillin"
    triggers = sentence_triggers(sentence)
    assert "negated" in modifiers(3, 8, triggers)  # "chest"
    start = sentence.index("penicillin")
    assert modifiers(start, start + 10, triggers) == frozenset()


def test_the_lexicons_carry_harkemas_triggers_and_their_source() -> None:
    """ConText's core triggers (Harkema 2009, Table 2) are in the English lexicon; both lexicons
    name their sources."""
    en, zh = lexicon("en"), lexicon("zh")
    assert "Harkema" in en.source
    assert "Kang T" in zh.source
    negations = [t.pattern for t in en.triggers if t.category == "negated"]
    for trigger in ("no", "denies", "without", "negative for", "free of"):
        assert any(p.fullmatch(trigger) for p in negations), trigger
    zh_negations = [t.pattern for t in zh.triggers if t.category == "negated"]
    for trigger in ("無", "未", "否認", "沒有"):
        assert any(p.fullmatch(trigger) for p in zh_negations), trigger
