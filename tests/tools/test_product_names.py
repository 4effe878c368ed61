"""Product names read into ingredient names: RxNorm normalized names (RxNorm Technical
Documentation, "RxNorm normalized names": ingredient strength dose form [brand]) and ward
shorthand, as the third-party records in tests/data/fhir-external write them."""

from __future__ import annotations

import pytest

from tools.resolve.product_names import parse_product


@pytest.mark.parametrize(
    ("text", "ingredients", "brand"),
    [
        ("Warfarin Sodium 5 MG Oral Tablet", [("warfarin sodium", "warfarin")], ""),
        (
            "24 HR metoprolol succinate 100 MG Extended Release Oral Tablet [Toprol]",
            [("metoprolol succinate", "metoprolol")],
            "Toprol",
        ),
        ("Diazepam [Valium]", [("diazepam",)], "Valium"),
        ("Lasix 40mg", [("lasix",)], ""),
        (
            "Amoxicillin 250 MG / Clavulanate 125 MG Oral Tablet",
            [("amoxicillin",), ("clavulanate",)],
            "",
        ),
        ("piperacillin / tazobactam", [("piperacillin",), ("tazobactam",)], ""),
        ("sulfamethoxazole/trimethoprim", [("sulfamethoxazole",), ("trimethoprim",)], ""),
        (
            "24 HR Donepezil hydrochloride 10 MG / Memantine hydrochloride 28 MG Extended Release "
            "Oral Capsule",
            [("donepezil hydrochloride", "donepezil"), ("memantine hydrochloride", "memantine")],
            "",
        ),
        ("NDA020800 0.3 ML Epinephrine 1 MG/ML Auto-Injector", [("epinephrine",)], ""),
        (
            "120 ACTUAT Fluticasone propionate 0.044 MG/ACTUAT Metered Dose Inhaler",
            [("fluticasone propionate", "fluticasone")],
            "",
        ),
        ("cilazapril 500 microgram tablet, 90", [("cilazapril",)], ""),
        ("METFORMINE 1000MG TABLET", [("metformine",)], ""),
        ("脈優錠 5mg", [("脈優",)], ""),
    ],
)
def test_ingredients_and_brand(text: str, ingredients: list[tuple[str, ...]], brand: str) -> None:
    parsed = parse_product(text)
    assert [p[: len(want)] for p, want in zip(parsed.ingredients, ingredients, strict=True)] == (
        ingredients
    )
    assert parsed.brand == brand


def test_a_drug_whose_name_looks_like_a_salt_is_looked_up_whole_first() -> None:
    # potassium chloride and dimethyl fumarate are drugs, not "chloride"/"fumarate" salts
    (names,) = parse_product("Potassium Chloride 20 MEQ Extended Release Oral Tablet").ingredients
    assert names[0] == "potassium chloride"
    assert parse_product("dimethyl fumarate 120 MG").ingredients[0][0] == "dimethyl fumarate"


def test_rxnorm_inverted_names_are_put_back_in_order() -> None:
    (isophane, regular) = parse_product(
        "insulin human, isophane 70 UNT/ML / Regular Insulin, Human 30 UNT/ML Injectable "
        "Suspension [Humulin]"
    ).ingredients
    assert "insulin isophane" in isophane
    assert "regular insulin" in regular


def test_nothing_left_is_no_ingredient() -> None:
    assert parse_product("5 MG Oral Tablet").ingredients == ()


@pytest.mark.parametrize(
    ("text", "first"),
    [
        # dm+d (NHS) virtual medicinal product names, as UK documents write them
        ("Tazocin 4.5g powder for solution for infusion vials", "tazocin"),
        ("Lansoprazole 30mg gastro-resistant capsules", "lansoprazole"),
        ("Enoxaparin sodium 40mg/0.4ml solution for injection pre-filled syringes", "enoxaparin"),
        ("Digoxin 125microgram tablets", "digoxin"),
        # Portuguese (IPS PT) product text
        ("Lisinopril 10 mg comprimidos", "lisinopril"),
    ],
)
def test_uk_and_european_product_texts(text: str, first: str) -> None:
    (names,) = parse_product(text).ingredients
    assert first in names
