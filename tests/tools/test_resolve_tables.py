"""Every row of the code tables in data/resolve/ (and the KG's drug list) against what can be
checked offline: identifier check digits, the ICD-10-CM release wardround loads
(``simple-icd-10-cm``), the WHO ATC numbering of combinations, the product's own RxNorm name, and
that every ingredient a row names is a KG drug or one the KG is known not to hold.

What needs the outside world (that a SNOMED CT concept maps to that ICD-10-CM code in the NLM
map, that an RxNorm CUI is that product) is in each row's ``source``, and is checked here only
where a published copy was at hand (the LOINC names below).
"""

from __future__ import annotations

import csv
import re

import pytest
import yaml

from core.settings import SHIPPED_DATA
from kg.open_data import icd
from tools.fhir.codes import SNOMED, is_valid_loinc, is_valid_snomed
from tools.resolve.allergies import allergy_table
from tools.resolve.conditions import condition_map
from tools.resolve.labs import analytes
from tools.resolve.med_maps import medication_maps
from tools.resolve.product_names import parse_product

RESOLVE = SHIPPED_DATA / "resolve"
ATC = re.compile(r"^[A-Z]\d\d[A-Z][A-Z]\d\d$")

# Verhoeff's dihedral-group tables, as the SNOMED CT Technical Implementation Guide (section 6.6,
# "Check-digit computation") gives them: a concept id's last digit makes the whole id check to 0.
_D = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6], [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8], [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2], [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4], [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
]  # fmt: skip
_P = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2], [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0], [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5], [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
]  # fmt: skip


def verhoeff_ok(code: str) -> bool:
    check = 0
    for i, digit in enumerate(reversed(code)):
        check = _D[check][_P[i % 8][int(digit)]]
    return check == 0


def drug_rows() -> list[dict[str, str]]:
    with (SHIPPED_DATA / "kg" / "drugs.csv").open(encoding="utf-8") as handle:
        lines = [line for line in handle if not line.startswith("#")]
    return list(csv.DictReader(lines))


def kg_drugs() -> set[str]:
    return {row["name"] for row in drug_rows()}


def kg_name_of() -> dict[str, str]:
    """A KG drug's name and each of its synonyms -> its name."""
    out: dict[str, str] = {}
    for row in drug_rows():
        for term in [row["name"], *row["synonyms"].split(";")]:
            if term:
                out.setdefault(term.lower(), row["name"])
    return out


# Ingredients the tables name that the KG holds no facts for: named so that a product containing
# them says "not checked" (f0921cc: no bare KG nodes). A name outside both sets is a typo.
NOT_IN_KG = {"memantine", "fluticasone", "salmeterol", "dimethyl fumarate", "galantamine",
             "oxymetazoline", "alteplase", "cyanocobalamin"}  # fmt: skip


def test_the_verhoeff_check_itself_on_published_ids() -> None:
    # SNOMED CT 22298006 |Myocardial infarction|, 38341003 |Hypertensive disorder|
    assert verhoeff_ok("22298006")
    assert verhoeff_ok("38341003")
    assert not verhoeff_ok("22298007")
    assert not verhoeff_ok("38341030")


def test_every_snomed_ct_id_in_the_tables_is_a_concept_id_with_a_valid_check_digit() -> None:
    maps = medication_maps()
    allergens = allergy_table()
    codes = {
        "snomed_conditions": [row.snomed for row in condition_map().values()],
        "snomed_allergens": list(allergens.allergens)
        + [row.code for row in allergens.no_known.values() if row.system == SNOMED],
        "snomed_products": list(maps.snomed_products),
    }
    for table, ids in codes.items():
        assert ids, table
        for code in ids:
            assert is_valid_snomed(code), (table, code)
            assert verhoeff_ok(code), (table, code)


def test_every_icd10cm_target_is_a_billable_code_titled_as_the_release_titles_it() -> None:
    """The NLM SNOMED CT to ICD-10-CM map targets billable (leaf) codes; each row's title is the
    code's title in the ICD-10-CM release loaded into the KG (simple-icd-10-cm)."""
    release = icd()  # simple_icd_10_cm, imported once (kg.open_data)
    for row in condition_map().values():
        assert release.is_valid_item(row.icd10cm), row
        assert release.is_leaf(row.icd10cm), row
        assert release.get_description(row.icd10cm) == row.title, row
        assert row.source, row


def test_every_loinc_code_has_a_valid_check_digit() -> None:
    for code in analytes():
        assert is_valid_loinc(code), code


# LOINC Long Common Names as published copies of the LOINC table give them (FHIR value sets and
# profiles in public repositories: GECCO, mCODE-style eGFR profiles, OMOP concept tables), beyond
# the five tests/tools/test_resolve_labs.py checks.
@pytest.mark.parametrize(
    ("code", "published"),
    [
        ("46418-0", "INR in Capillary blood by Coagulation assay"),
        ("38875-1", "INR in Platelet poor plasma or blood by Coagulation assay"),
        ("34714-6", "INR in Blood by Coagulation assay"),
        ("20509-6", "Hemoglobin [Mass/volume] in Blood by calculation"),
        ("30350-3", "Hemoglobin [Mass/volume] in Venous blood"),
        (
            "50044-7",
            "Glomerular filtration rate/1.73 sq M.predicted among females [Volume Rate/Area] in "
            "Serum, Plasma or Blood by Creatinine-based formula (MDRD)",
        ),
        (
            "48642-3",
            "Glomerular filtration rate/1.73 sq M.predicted among non-blacks [Volume Rate/Area] "
            "in Serum, Plasma or Blood by Creatinine-based formula (MDRD)",
        ),
        (
            "50210-4",
            "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, Plasma "
            "or Blood by Cystatin-based formula",
        ),
    ],
)
def test_loinc_alias_names_match_published_copies(code: str, published: str) -> None:
    entry = analytes()[code]
    (alias,) = [a for a in entry.aliases if a.loinc == code]
    assert alias.name == published


def test_each_rxnorm_product_row_names_the_ingredients_its_own_rxnorm_name_says() -> None:
    """The RxNorm normalized name of each product (kept in the row) is read by the product-name
    parser: it must give the row's ingredients, so a code pasted against the wrong name fails."""
    name_of = kg_name_of()
    for code, row in medication_maps().rxnorm_products.items():
        assert code.isdigit(), code
        assert f"rxcui {code}" in row.source, row
        said = []
        for candidates in parse_product(row.name).ingredients:  # longest first, salt read past
            known = [name_of[c] for c in candidates if c in name_of]
            said.append(known[0] if known else candidates[-1])
        assert sorted(said) == sorted(row.ingredients), (code, row.name, said)


def test_every_ingredient_a_table_names_is_a_kg_drug_or_one_known_absent() -> None:
    known = kg_drugs()
    maps = medication_maps()
    rows = [
        *maps.rxnorm_products.values(),
        *maps.atc_combinations.values(),
        *maps.snomed_products.values(),
    ]
    named = {i for row in rows for i in row.ingredients}
    named |= {i for row in maps.brands.values() for i in row.ingredients}
    assert named - known - NOT_IN_KG == set()
    assert NOT_IN_KG & known == set()  # a drug that gained KG facts leaves this list


def test_atc_codes_are_well_formed_and_diuretic_combinations_carry_the_substance_number() -> None:
    """WHO ATC: C09BA nn (ACE inhibitor and diuretics) and C09DA nn (ARB and diuretics) reuse the
    plain substance's number (C09AA05 ramipril -> C09BA05; C09CA01 losartan -> C09DA01)."""
    atc_of = {row["name"]: row["atc"].split(";") for row in drug_rows()}
    for codes in atc_of.values():
        assert all(ATC.match(c) for c in codes if c), codes
    for code, row in medication_maps().atc_combinations.items():
        assert ATC.match(code), code
        if code.startswith(("C09BA", "C09DA")):
            (substance,) = row.ingredients
            assert any(c[-2:] == code[-2:] for c in atc_of[substance]), (code, substance)


def test_a_kg_drug_without_an_rxnorm_cui_says_so_in_its_source() -> None:
    for row in drug_rows():
        if row["rxcui"]:
            assert row["rxcui"].isdigit(), row
            assert "RxNorm" in row["source"], row
        else:
            assert "RxNorm CUI not verified" in row["source"], row


def test_every_table_file_names_the_source_of_each_row() -> None:
    for path in sorted(RESOLVE.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        lists = [v for v in doc.values() if isinstance(v, list)]
        assert lists, path.name
        for rows in lists:
            for row in rows:
                if isinstance(row, dict) and "analyte" in row:  # loinc_analytes: per alias
                    assert all(a.get("source") for a in row.get("aliases") or []), row
                elif isinstance(row, dict):
                    assert row.get("source"), (path.name, row)
