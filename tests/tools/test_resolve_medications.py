"""Medication resolution, one test per route, against the real curated KG.

Where the codes come from: RxNorm ingredient CUIs (warfarin 11289, amoxicillin 723) are the KG's
own (data/kg/drugs.csv, "RxNorm (NLM) IN"); RxNorm product codes (855332 Warfarin Sodium 5 MG
Oral Tablet, 316672 Simvastatin 10 MG, 562251 Amoxicillin 250 MG / Clavulanate 125 MG Oral
Tablet) are as RxNav shows them and as the Synthea records in tests/data/fhir-external code them;
ATC codes from the WHO ATC/DDD Index 2024 (B01AA03 warfarin, C09BB05 ramipril and felodipine,
C09DA04 irbesartan and diuretics); SNOMED CT 318913001 "Product containing cilazapril" as the HL7
IPS example document IPS_NNJ9186 codes it (tests/data/fhir-external/ips-nz-peter-jordan-labs.json).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from carebundle import generate_bundle, to_json

from core.domain import Coding, Medication, MedicationIngredient
from kg.store import GraphStore
from tools.fhir.codes import RXNORM, SNOMED
from tools.fhir.medications import ATC
from tools.fhir.parse import parse_bundle
from tools.resolve.medications import (
    FUZZY_CEILING,
    MedicationResolution,
    resolve_medications,
    resolve_record,
)


def med(name: str, *codes: tuple[str, str], **extra: Any) -> Medication:
    codings = tuple(Coding(system=s, code=c) for s, c in codes)
    return Medication(ref="MedicationRequest/m1", name=name, codings=codings, **extra)


def resolve(store: GraphStore, medication: Medication) -> MedicationResolution:
    (result,) = resolve_medications(store, [medication])
    return result


def read(result: MedicationResolution) -> list[tuple[str, str]]:
    return [(i.name, i.how) for i in result.ingredients]


@pytest.fixture(scope="module")
def store(curated_kg: GraphStore) -> GraphStore:
    return curated_kg


def test_rxnorm_ingredient_code(store: GraphStore) -> None:
    result = resolve(store, med("", (RXNORM, "11289")))
    assert read(result) == [("warfarin", "rxnorm")]
    assert result.ingredients[0].via == "RxNorm 11289"
    assert result.confidence == 1.0


def test_rxnorm_product_code_through_the_sourced_map_even_when_misspelt(store: GraphStore) -> None:
    # Synthea writes RxNorm 316672 as "Simvistatin 10 MG"; the code is certain, the name is not
    result = resolve(store, med("Simvistatin 10 MG", (RXNORM, "316672")))
    assert read(result) == [("simvastatin", "rxnorm_product")]
    assert result.confidence == 1.0


def test_a_product_code_we_do_not_map_falls_back_to_its_name(store: GraphStore) -> None:
    result = resolve(store, med("Warfarin Sodium 2 MG Oral Tablet", (RXNORM, "855302")))
    assert read(result) == [("warfarin", "product_name")]
    assert result.ingredients[0].via.endswith("-> 'warfarin'")
    assert result.confidence == 0.95


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Amoxicillin 250 MG / Clavulanate 125 MG Oral Tablet", ["amoxicillin", "clavulanate"]),
        ("piperacillin / tazobactam", ["piperacillin", "tazobactam"]),
        ("sulfamethoxazole / trimethoprim", ["sulfamethoxazole", "trimethoprim"]),
    ],
)
def test_combination_products_resolve_to_every_ingredient(
    store: GraphStore, text: str, expected: list[str]
) -> None:
    result = resolve(store, med(text))
    assert [i.name for i in result.ingredients] == expected
    assert result.unresolved == ()


def test_a_combination_ingredient_the_kg_lacks_is_listed_the_others_checked(
    store: GraphStore,
) -> None:
    # RxNorm 1599803 (RxNav): donepezil + memantine; the KG has no memantine
    text = (
        "24 HR Donepezil hydrochloride 10 MG / Memantine hydrochloride 28 MG Extended Release "
        "Oral Capsule"
    )
    for coded in (med(text, (RXNORM, "1599803")), med(text)):
        result = resolve(store, coded)
        assert [i.name for i in result.ingredients] == ["donepezil"]
        assert result.unresolved[0].startswith("memantine")


def test_a_combination_ingredient_inherits_its_allergy_class(store: GraphStore) -> None:
    result = resolve(store, med("piperacillin 4 GM / tazobactam 0.5 GM Injection"))
    piperacillin = next(i for i in result.ingredients if i.name == "piperacillin")
    assert "penicillins" in piperacillin.classes


def test_a_combination_coded_by_one_ingredient_still_checks_the_other(store: GraphStore) -> None:
    result = resolve(
        store, med("amoxicillin 500 MG / clavulanate 125 MG Oral Tablet", (RXNORM, "723"))
    )
    assert read(result) == [("amoxicillin", "rxnorm"), ("clavulanate", "product_name")]


def test_salts_strengths_and_release_forms_are_read_past(store: GraphStore) -> None:
    result = resolve(
        store, med("24 HR metoprolol succinate 100 MG Extended Release Oral Tablet [Toprol]")
    )
    assert read(result) == [("metoprolol", "product_name")]


@pytest.mark.parametrize(
    ("text", "drug"),
    [
        ("Lasix 40mg", "furosemide"),
        ("[Toprol]", "metoprolol"),
        ("脈優錠 5mg", "amlodipine"),
        ("華法林 5mg", "warfarin"),
        ("安滅菌膜衣錠", "amoxicillin"),
    ],
)
def test_brands_english_and_traditional_chinese(store: GraphStore, text: str, drug: str) -> None:
    result = resolve(store, med(text))
    assert drug in [i.name for i in result.ingredients]
    assert {i.how for i in result.ingredients} == {"brand"}
    assert result.confidence == 0.9


def test_atc_single_and_combination_codes(store: GraphStore) -> None:
    assert read(resolve(store, med("", (ATC, "B01AA03")))) == [("warfarin", "atc")]
    combination = resolve(store, med("", (ATC, "C09BB05")))
    assert read(combination) == [("ramipril", "atc_combination"), ("felodipine", "atc_combination")]


def test_an_atc_partner_named_only_by_class_is_reported_not_guessed(store: GraphStore) -> None:
    result = resolve(store, med("", (ATC, "C09DA04")))
    assert read(result) == [("irbesartan", "atc_combination")]
    assert result.unresolved == ("diuretic (not named by ATC C09DA04)",)


def test_snomed_ct_medicinal_product(store: GraphStore) -> None:
    result = resolve(store, med("", (SNOMED, "318913001")))
    assert read(result) == [("cilazapril", "snomed")]
    assert "ace-inhibitor" in result.ingredients[0].classes


def test_medication_ingredient_list(store: GraphStore) -> None:
    karvea = med(
        "Karvea",
        ("http://ec.europa.eu/health/documents/community-register/html/", "EU/1/97/046"),
        ingredients=(MedicationIngredient(text="irbesartan"),),
    )
    assert read(resolve(store, karvea)) == [("irbesartan", "ingredient")]


def test_a_misspelling_is_matched_fuzzily_and_says_so(store: GraphStore) -> None:
    result = resolve(store, med("Simvistatin 10 MG"))
    (match,) = result.ingredients
    assert (match.name, match.how, match.fuzzy) == ("simvastatin", "fuzzy", True)
    assert match.confidence < FUZZY_CEILING
    assert "'simvistatin' ~ 'simvastatin'" in match.via


def test_what_does_not_resolve_stays_with_why(store: GraphStore) -> None:
    astemizole, unknown = resolve_medications(
        store, [med("Astemizole 10 MG Oral Tablet", (RXNORM, "197378")), med("")]
    )
    assert not astemizole.resolved
    assert "RxNorm 197378" in astemizole.why
    assert "Astemizole 10 MG Oral Tablet" in astemizole.why
    assert not unknown.resolved
    assert unknown.why


@pytest.mark.parametrize(
    "text",
    [
        "Influenzavaccin 0,5ml",
        "clotrimazole 1% cream",
        "ganciclovir 500 MG",
        "ofloxacin",
        "Vitamin B 12 5 MG/ML Injectable Solution",  # not vitamin K by its first two words
    ],
)
def test_a_different_drug_with_a_similar_name_is_not_guessed(store: GraphStore, text: str) -> None:
    # clotrimazole is not co-trimoxazole, ganciclovir not aciclovir, ofloxacin not moxifloxacin
    assert not resolve(store, med(text)).resolved


@pytest.mark.parametrize("profile", ["type2_diabetes", "hypertension", "ckd_stage3", "anaemia"])
def test_carebundle_prescriptions_resolve_or_say_why(store: GraphStore, profile: str) -> None:
    """carebundle (Apache-2.0) writes US Core RxNorm SCD prescriptions we did not choose: each
    resolves through its code or its RxNorm name, or is listed with the code it was tried by."""
    for seed in range(4):
        doc = json.loads(to_json(generate_bundle(profile=profile, seed=seed)))
        record = parse_bundle(doc)
        for result in resolve_record(store, record):
            if result.resolved:
                assert result.confidence >= 0.95, result
                assert {i.how for i in result.ingredients} <= {"rxnorm_product", "product_name"}
            else:
                assert "RxNorm" in result.why, result
