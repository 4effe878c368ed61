"""Problem cards on the shipped scenario patients: real records, the real KG, the real rules."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import yaml

from agents.approvals import propose, stop_first
from agents.cards import TIERS, Card, CardContext, build_cards, cards_block
from agents.cards.model import SUMMARY_MAX
from agents.cards.round import round_cards
from agents.cards.words import NEWS2_RISK, news2_words, score_phrase, suggestion_label
from agents.rules import kg_rule_findings, lab_rule_findings
from core.domain import Citation, Finding, PatientRecord, Severity
from core.settings import SHIPPED_DATA
from kg.store import GraphStore
from tools.calculators.news2 import News2Input, news2
from tools.fhir.sources import DirectoryPatientSource

NOW = datetime(2025, 10, 8, 3, 0, tzinfo=UTC)
SCENARIOS = yaml.safe_load((SHIPPED_DATA / "patients" / "scenarios.yaml").read_text("utf-8"))
KIDNEY_Q = "Why is the creatinine rising, and is it safe to continue ibuprofen?"


async def round_of(store: GraphStore, patient: str) -> tuple[PatientRecord, list[Finding]]:
    record = await DirectoryPatientSource().load(patient)
    findings = lab_rule_findings(record, NOW) + await kg_rule_findings(store, record)
    return record, findings


def act_now(cards: list[Card]) -> list[Card]:
    return [c for c in cards if c.tier == "act_now"]


def card(cards: list[Card], card_id: str) -> Card:
    return next(c for c in cards if c.id == card_id)


async def test_the_demo_patients_act_now_is_nsaid_in_aki_the_aki_and_the_potassium(
    curated_kg: GraphStore,
) -> None:
    record, findings = await round_of(curated_kg, "aki-on-ckd")
    cards = round_cards(record, findings, KIDNEY_Q, "en")
    assert [c.id for c in act_now(cards)] == [
        "kidney-harming-medicines",
        "kidney-function",
        "potassium",
    ]
    drugs = card(cards, "kidney-harming-medicines")
    ids = set(drugs.finding_ids)
    # both contraindications, the three pairs and the triple of NSAID + ACE inhibitor + diuretic
    nsaid = {f.id for f in findings if f.kind == "contraindication" and "ibuprofen" in f.drugs}
    assert nsaid <= ids
    assert len([i for i in ids if i.startswith("interaction:")]) == 4
    assert drugs.severity == "critical"
    assert drugs.indicator == "critical"
    assert "Hold ibuprofen" in drugs.suggestions[0].label
    assert drugs.summary.startswith("Medicines and the kidneys, AKI stage 2 on CKD, eGFR 20 (G4)")
    kidney = card(cards, "kidney-function")
    assert {"aki_stage", "egfr_ckd_epi_2021", "lab_trend:2160-0"} <= set(kidney.finding_ids)
    assert "Creatinine 3.1 mg/dL high" in kidney.summary
    # a statin, VTE prophylaxis or a vasopressor recommendation is never in Act now
    act_ids = {i for c in act_now(cards) for i in c.finding_ids}
    for noise in ("kdigo-ckd-2024-statin", "nice-ng89-medical", "kdigo-aki-2012-3.1.2"):
        assert not any(i.endswith(noise) for i in act_ids), noise
    vasopressors = card(cards, "guideline-not-applicable")
    assert vasopressors.tier == "for_information"
    assert any(i.endswith("kdigo-aki-2012-3.1.2") for i in vasopressors.finding_ids)


async def test_a_merged_card_keeps_the_highest_severity_and_every_source_and_citation(
    curated_kg: GraphStore,
) -> None:
    record, findings = await round_of(curated_kg, "aki-on-ckd")
    by_id = {f.id: f for f in findings}
    for c in round_cards(record, findings, KIDNEY_Q, "en"):
        mine = [by_id[i] for i in c.finding_ids]
        assert c.severity == max(mine, key=lambda f: f.severity.rank).severity.value
        assert {s.label for s in c.sources} == {f.source for f in mine if f.source}
        assert set(c.citations) == {cite.ref for f in mine for cite in f.citations}
        assert all(f.summary in c.detail for f in mine)


@pytest.mark.parametrize("scenario", SCENARIOS["scenarios"], ids=lambda s: s["id"])
async def test_every_finding_is_in_exactly_one_card_and_nothing_severe_waits(
    curated_kg: GraphStore, scenario: dict[str, str]
) -> None:
    record, findings = await round_of(curated_kg, scenario["id"])
    cards = round_cards(record, findings, scenario["question"], "en")
    placed = [i for c in cards for i in c.finding_ids]
    assert sorted(placed) == sorted(f.id for f in findings)  # none lost, none twice
    assert [c.tier for c in cards] == sorted((c.tier for c in cards), key=TIERS.index)
    assert all(len(c.summary) <= SUMMARY_MAX for c in cards)
    critical = {f.id for f in findings if f.severity is Severity.critical}
    assert critical <= {i for c in act_now(cards) for i in c.finding_ids}
    assert len(act_now(cards)) <= 5 or all(c.severity == "critical" for c in act_now(cards))


async def test_the_question_orders_the_cards_but_never_changes_a_tier(
    curated_kg: GraphStore,
) -> None:
    record, findings = await round_of(curated_kg, "gi-bleed-apixaban")
    bleeding = round_cards(record, findings, "Should we reverse the apixaban?", "en")
    kidneys = round_cards(record, findings, "How are his kidneys and creatinine?", "en")
    assert {(c.id, c.tier) for c in bleeding} == {(c.id, c.tier) for c in kidneys}
    assert "anticoagulation" in bleeding[0].topics
    assert bleeding[0].tier == "act_now"
    assert kidneys[0].tier == "act_now"  # Act now always shows first, whatever the question
    review = [c for c in kidneys if c.tier == "review"]
    assert review[0].id == "kidney-function"
    assert review[0].relevant
    vitals = round_cards(record, findings, "Is he deteriorating: NEWS2, blood pressure?", "en")
    assert next(c.id for c in vitals if c.tier == "review") == "vital-signs"


async def test_an_anticoagulation_question_puts_the_inr_first(curated_kg: GraphStore) -> None:
    record, findings = await round_of(curated_kg, "warfarin-clarithromycin")
    cards = round_cards(record, findings, "What should we do with the warfarin and the INR?", "en")
    assert "anticoagulation" in cards[0].topics
    assert cards[0].tier == "act_now"
    assert cards[0].summary.startswith("Bleeding and clotting on warfarin")
    assert "INR" in cards[0].summary


async def test_a_traditional_chinese_question_gets_a_chinese_frame(
    curated_kg: GraphStore,
) -> None:
    record, findings = await round_of(curated_kg, "aki-on-ckd")
    cards = round_cards(record, findings, "為什麼肌酸酐上升？可以繼續用 ibuprofen 嗎？", "zh-TW")
    assert act_now(cards)[0].summary.startswith("藥物與腎臟（急性腎損傷第2期合併慢性腎臟病")
    assert act_now(cards)[0].id == "kidney-harming-medicines"
    block = cards_block(cards, "zh-TW")
    assert block.splitlines()[1] == "立即處理"
    assert "參考資訊" in block
    assert "需要檢視" in block
    assert "ibuprofen: contraindicated" in block  # rule text stays English, unsourced in Chinese
    # the frame is Chinese: severity tags on every card and every finding line, the headings
    english = ("[CRITICAL]", "[HIGH]", "[MODERATE]", "[LOW]", "[INFO]", "Guidelines:", "Proposed")
    assert not [tag for tag in english if tag in block]
    assert "   - [危急] ibuprofen: contraindicated" in block
    assert "\n   指引：\n" in block  # the guideline statements a card holds
    # our own words in the summaries and suggestions too; analyte and drug names as written
    assert "建議處置（需臨床醫師核准）：暫停使用 ibuprofen 400 MG Oral Tablet" in block
    assert "（之後重新評估 lisinopril、furosemide）" in block
    assert "ibuprofen（禁忌）、lisinopril、furosemide" in act_now(cards)[0].summary
    assert (
        card(cards, "potassium").summary == "血鉀：Potassium 5.4 mmol/L 偏高，整體上升，自高峰回落"
    )
    assert "；Creatinine 3.1 mg/dL 偏高" in card(cards, "kidney-function").summary
    assert re.search(r"^參考資訊（\d+ 張卡片，已收合）$", block, re.MULTILINE)
    assert all(not any(tag in c.detail for tag in english) for c in cards)


def test_a_new_kind_of_finding_falls_into_the_card_of_its_drug_or_analyte() -> None:
    note_allergy = Finding(
        id="note_allergy:x", kind="note_allergy", severity=Severity.high,
        summary="Penicillin allergy written in a note only", drugs=("amoxicillin",),
        citations=(Citation.fhir("DocumentReference/n1"),),
    )  # fmt: skip
    verify = Finding(
        id="verify:k", kind="verify_value", severity=Severity.moderate,
        summary="Potassium 7.9 mmol/L from a haemolysed sample: repeat", labs=("2823-3",),
    )  # fmt: skip
    cards = build_cards([note_allergy, verify], CardContext("Is it safe?"))
    assert [(c.id, c.tier) for c in cards] == [
        ("drug:amoxicillin", "act_now"),
        ("potassium", "review"),
    ]
    assert cards[0].summary.startswith("Medicines: amoxicillin — Penicillin allergy")


@pytest.mark.parametrize(
    ("patient", "held", "reviewed"),
    [
        # NSAID contraindicated in AKI: hold it, review the ACE inhibitor and the diuretic
        ("aki-on-ckd", ["ibuprofen"], ["lisinopril", "furosemide"]),
        # apixaban contraindicated in melaena, the NSAID stopped first; aspirin reviewed
        ("gi-bleed-apixaban", ["apixaban", "diclofenac"], ["aspirin"]),
        # potassium 6.4: spironolactone and the supplement held, the ACE inhibitor reviewed
        (
            "hyperkalaemia-acei-spironolactone",
            ["spironolactone", "potassium chloride"],
            ["ramipril"],
        ),
        ("hyponatraemia-thiazide-ssri", ["hydrochlorothiazide"], ["sertraline"]),
        # no offender of its own and none named to stop first: both still held
        ("warfarin-clarithromycin", ["warfarin", "clarithromycin"], []),
    ],
)
async def test_the_proposal_holds_the_offending_drug_and_reviews_its_partners(
    curated_kg: GraphStore, patient: str, held: list[str], reviewed: list[str]
) -> None:
    record, findings = await round_of(curated_kg, patient)
    holds = [p for p in propose(record, findings) if p.kind == "hold_medication"]
    assert sorted(h for h in held if any(p.summary.startswith(f"Hold {h}") for p in holds)) == (
        sorted(held)
    )
    assert len(holds) == len(held)
    review = " ".join(p.summary.partition("(then review ")[2] for p in holds)
    assert all(drug in review for drug in reviewed)
    # a reviewed drug's serious interactions are all behind a hold that stays proposed
    because = {i for p in holds for i in p.because}
    for drug in reviewed:
        assert not any(p.summary.startswith(f"Hold {drug}") for p in holds)
        serious = [f for f in findings if drug in f.drugs and f.severity.rank >= Severity.high.rank]
        assert serious
        assert all(f.kind == "interaction" for f in serious)
        assert {f.id for f in serious} <= because


def test_what_is_stopped_first_is_what_the_interactions_say_to_stop() -> None:
    """Each quoted management line of data/cards/suggestions.yaml is in the interaction data."""
    interactions = (SHIPPED_DATA / "kg" / "interactions.csv").read_text("utf-8")
    rows = yaml.safe_load((SHIPPED_DATA / "cards" / "suggestions.yaml").read_text("utf-8"))
    assert stop_first() == {"class:nsaid", "potassium chloride"}
    for row in rows["stop_first"]:
        quoted = re.findall(r'"([^"]+)"', " ".join(row["because"].split()))
        assert quoted, row
        assert all(q in interactions for q in quoted), quoted
        assert row["subject"] in interactions


@pytest.mark.parametrize(
    ("summary", "zh"),
    [
        ("Hold warfarin sodium 3 MG Oral Tablet", "暫停使用 warfarin sodium 3 MG Oral Tablet"),
        (
            "Hold apixaban 5 MG Oral Tablet (then review aspirin, diclofenac)",
            "暫停使用 apixaban 5 MG Oral Tablet（之後重新評估 aspirin、diclofenac）",
        ),
        ("Adjust the dose of enoxaparin 40 MG", "調整劑量：enoxaparin 40 MG"),
        ("Activate the proposed order: amoxicillin 500 MG", "啟用擬議的醫囑：amoxicillin 500 MG"),
        ("Something new", "Something new"),  # a proposal we have no words for stays as written
    ],
)
def test_a_suggestion_is_framed_in_the_answers_language(summary: str, zh: str) -> None:
    assert suggestion_label(summary, "zh-TW") == zh
    assert suggestion_label(summary, "en") == summary


@pytest.mark.parametrize(
    ("rr", "spo2", "pulse", "consciousness", "band"),
    [
        (16, 97, 70, "alert", "low"),  # 0
        (16, 97, 70, "unresponsive", "low-medium"),  # a single parameter scores 3
        (25, 97, 115, "alert", "medium"),  # 3 + 2
        (25, 91, 115, "alert", "high"),  # 3 + 3 + 2
    ],
)
def test_news2_risk_bands_are_framed_in_chinese(
    rr: int, spo2: int, pulse: int, consciousness: str, band: str
) -> None:
    """Every clinical risk band the calculator gives (RCP NEWS2 2017 Chart 2) reads in Chinese;
    the RCP's response wording after it stays as written."""
    result = news2(
        News2Input(
            respiration_rate=rr, spo2=spo2, on_oxygen=False, systolic_bp=120, pulse=pulse,
            consciousness=consciousness, temperature=37.0,  # type: ignore[arg-type]
        )
    )  # fmt: skip
    assert result.category == band
    zh = news2_words(result.interpretation, "zh-TW")
    assert zh.startswith(f"NEWS2 {result.value:.0f}（{NEWS2_RISK['zh-TW'][band]}臨床風險）：")
    assert "clinical risk" not in zh
    assert zh.endswith(result.interpretation.split("): ", 1)[1])
    assert news2_words(result.interpretation, "en") == result.interpretation
    score = Finding(id="news2", kind="score", severity=Severity.low, summary=result.interpretation)
    assert score_phrase([score], "zh-TW") == zh.split("：", 1)[0]
