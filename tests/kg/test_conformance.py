"""The GraphStore conformance suite: every backend must give these answers.

The ``store`` fixture (conftest) runs each test against LadybugDB, FalkorDB over Bolt (marker
``falkordb``) and a real Neo4j when ``WARDROUND_NEO4J_URI`` is set (marker ``neo4j``). The clinical
scenarios are the ones the guideline checker and lab interpreter rely on.
"""

from __future__ import annotations

import pytest

from core.errors import InvalidInput, ReadOnlyViolation
from kg.cypher_store import CypherStore
from kg.store import GraphStore


def ids(store: CypherStore, *names: str) -> list[str]:
    resolution = store.resolve_drugs(list(names))
    assert resolution.unresolved == [], resolution.unresolved
    return [ref.id for ref in resolution.resolved]


def test_store_satisfies_protocol(store: CypherStore) -> None:
    assert isinstance(store, GraphStore)


# --- resolution -----------------------------------------------------------------------------------


def test_brand_synonym_rxcui_and_atc_resolve_to_one_node(store: CypherStore) -> None:
    resolution = store.resolve_drugs(["Coumadin", "warfarin", "11289", "B01AA03", "RxNorm:11289"])
    assert {ref.id for ref in resolution.resolved} == {"kg:Drug/11289"}
    assert [ref.matched for ref in resolution.resolved] == [
        "Coumadin",
        "warfarin",
        "11289",
        "B01AA03",
        "RxNorm:11289",
    ]
    assert resolution.resolved[0].atc == ["B01AA03"]
    assert resolution.resolved[0].source


def test_a_resolution_says_what_the_input_was_to_the_drug(store: CypherStore) -> None:
    resolution = store.resolve_drugs(["Coumadin", "warfarin", "11289", "B01AA03", "frusemide"])
    assert [ref.matched_as for ref in resolution.resolved] == [
        "brand",
        "name",
        "rxcui",
        "atc",
        "synonym",
    ]


def test_drug_terms_are_the_names_synonyms_and_brands_without_codes(store: CypherStore) -> None:
    terms = store.drug_terms()
    assert terms["coumadin"] == ["warfarin"]
    assert terms["co-trimoxazole"] == ["sulfamethoxazole", "trimethoprim"]
    assert terms["simvastatin"] == ["simvastatin"]
    assert "11289" not in terms
    assert "b01aa03" not in terms


def test_resolution_is_case_and_space_insensitive(store: CypherStore) -> None:
    resolution = store.resolve_drugs(["  WARFARIN ", "zosyn", "Glyceryl  Trinitrate"])
    assert [ref.name for ref in resolution.resolved] == [
        "warfarin",
        "piperacillin",
        "tazobactam",
        "nitroglycerin",
    ]


def test_combination_resolves_to_every_ingredient(store: CypherStore) -> None:
    resolution = store.resolve_drugs(["co-trimoxazole"])
    assert sorted(ref.name for ref in resolution.resolved) == ["sulfamethoxazole", "trimethoprim"]


def test_unknown_drugs_are_reported_not_dropped(store: CypherStore) -> None:
    resolution = store.resolve_drugs(["warfarin", "notadrug-xyz", "99999999", "", "acei's"])
    assert [ref.name for ref in resolution.resolved] == ["warfarin"]
    assert resolution.unresolved == ["notadrug-xyz", "99999999", "acei's", ""]


# --- interactions ---------------------------------------------------------------------------------


def test_warfarin_antibiotic_interactions(store: CypherStore) -> None:
    drugs = ids(store, "warfarin", "clarithromycin", "ciprofloxacin", "metronidazole", "Bactrim")
    found = {i.id: i for i in store.interactions_among(drugs)}
    for partner in ("clarithromycin", "ciprofloxacin", "metronidazole", "sulfamethoxazole"):
        fact = found[f"kg:INTERACTS_WITH/warfarin|{partner}"]
        assert fact.severity == "major"
        assert "INR" in fact.effect
        assert fact.source
    # when the effect shows: an INR above the BSH range (interaction_manifests.yaml)
    manifest = found["kg:INTERACTS_WITH/warfarin|clarithromycin"].manifest
    assert manifest is not None
    assert (manifest.threshold.describe(), manifest.meaning) == (
        "inr > 3 {INR}",
        "INR above the therapeutic range",
    )
    assert manifest.threshold.holds(5.6)
    assert not manifest.threshold.holds(2.8)
    assert "Keeling" in manifest.source
    assert found["kg:INTERACTS_WITH/warfarin|ciprofloxacin"].manifest is None


def test_triple_whammy_needs_all_three(store: CypherStore) -> None:
    pair = store.interactions_among(ids(store, "ibuprofen", "lisinopril"))
    triple_id = "kg:INTERACTS_WITH/class:nsaid|class:ace-inhibitor|class:diuretic"
    assert "kg:INTERACTS_WITH/class:nsaid|class:ace-inhibitor" in {i.id for i in pair}
    assert triple_id not in {i.id for i in pair}
    three = store.interactions_among(ids(store, "ibuprofen", "lisinopril", "furosemide"))
    triple = next(i for i in three if i.id == triple_id)
    assert triple.severity == "major"
    assert triple.also_present == ["kg:Drug/4603"]
    assert "kidney" in triple.effect.lower()


def test_ace_inhibitor_spironolactone_hyperkalaemia(store: CypherStore) -> None:
    found = store.interactions_among(ids(store, "ramipril", "spironolactone"))
    assert [(i.severity, "Hyperkalaemia" in i.effect) for i in found] == [("major", True)]


def test_qt_combinations(store: CypherStore) -> None:
    drugs = ids(store, "azithromycin", "haloperidol", "ondansetron", "citalopram")
    pairs = {frozenset((i.drug_a_name, i.drug_b_name)) for i in store.interactions_among(drugs)}
    assert frozenset(("azithromycin", "haloperidol")) in pairs
    assert frozenset(("azithromycin", "ondansetron")) in pairs
    assert frozenset(("haloperidol", "citalopram")) in pairs


def test_no_interaction_for_a_single_drug_or_unrelated_pair(store: CypherStore) -> None:
    assert store.interactions_among(ids(store, "warfarin")) == []
    assert store.interactions_among(ids(store, "amlodipine", "acetaminophen")) == []


# --- contraindications ----------------------------------------------------------------------------


def test_metformin_egfr_bands(store: CypherStore) -> None:
    metformin = ids(store, "metformin")
    severe = store.contraindications(metformin, labs={"62238-1": 25})
    assert [(c.level, c.id) for c in severe] == [
        ("contraindicated", "kg:CONTRAINDICATED_IN/metformin|egfr<30")
    ]
    moderate = store.contraindications(metformin, labs={"98979-8": 38})
    assert [(c.level, c.threshold and c.threshold.describe()) for c in moderate] == [
        ("dose-adjust", "egfr < 45 and ≥ 30 mL/min/{1.73_m2}")  # KDIGO: halve the dose
    ]
    assert store.contraindications(metformin, labs={"33914-3": 60}) == []


def test_condition_prefix_matching_and_lab_units(store: CypherStore) -> None:
    drugs = ids(store, "naproxen", "lisinopril")
    found = store.contraindications(drugs, conditions=["n179"], labs={"2823-3": 5.9})
    by_id = {c.id: c for c in found}
    aki = by_id["kg:CONTRAINDICATED_IN/class:nsaid|N17"]
    assert (aki.matched_condition, aki.condition_code) == ("N17.9", "N17")
    assert by_id["kg:CAUTION_IN/class:ace-inhibitor|potassium>5.5"].observed == 5.9


def test_converted_units_apply_thresholds(store: CypherStore) -> None:
    # Magnesium 0.6 mmol/L (LOINC 2601-3) = 1.46 mg/dL: below the 1.7 mg/dL QT-risk threshold.
    found = store.contraindications(ids(store, "azithromycin"), labs={"2601-3": 0.6})
    assert [c.id for c in found] == ["kg:CAUTION_IN/class:qt-prolonging|magnesium<1.7"]


def test_enoxaparin_renal_and_platelets(store: CypherStore) -> None:
    found = store.contraindications(ids(store, "enoxaparin"), labs={"62238-1": 22, "777-3": 35})
    assert {c.id for c in found} == {
        "kg:CAUTION_IN/enoxaparin|egfr<30",
        "kg:CAUTION_IN/class:anticoagulant|platelets<50",
    }


def test_anticoagulant_in_gi_bleed_and_pregnancy(store: CypherStore) -> None:
    drugs = ids(store, "apixaban", "warfarin")
    found = store.contraindications(drugs, conditions=["K92.2"], pregnant=True)
    levels = {(c.drug_name, c.kind, c.level) for c in found}
    assert ("apixaban", "condition", "contraindicated") in levels
    assert ("warfarin", "pregnancy", "contraindicated") in levels
    assert ("apixaban", "pregnancy", "contraindicated") in levels


def test_anticholinergics_in_delirium(store: CypherStore) -> None:
    drugs = ids(store, "oxybutynin", "diphenhydramine", "amitriptyline", "bisoprolol")
    found = store.contraindications(drugs, conditions=["F05"])
    assert sorted(c.drug_name for c in found) == ["amitriptyline", "diphenhydramine", "oxybutynin"]
    assert all("Beers" in c.source for c in found)


def test_qtc_and_low_potassium(store: CypherStore) -> None:
    found = store.contraindications(
        ids(store, "ciprofloxacin"), labs={"8636-3": 520, "2823-3": 3.1}
    )
    assert {(c.level, c.threshold.analyte if c.threshold else "") for c in found} == {
        ("contraindicated", "qtc"),
        ("caution", "potassium"),
    }


def test_bad_lab_input_is_rejected(store: CypherStore) -> None:
    with pytest.raises(InvalidInput):
        store.contraindications(ids(store, "metformin"), labs={"not-loinc": 1.0})
    with pytest.raises(InvalidInput):
        store.contraindications(ids(store, "metformin"), conditions=["diabetes"])


# --- allergies ------------------------------------------------------------------------------------


def test_penicillin_allergy(store: CypherStore) -> None:
    drugs = ids(store, "amoxicillin", "Tazocin", "ceftriaxone", "meropenem", "vancomycin")
    report = store.allergy_conflicts(drugs, ["Penicillin"])
    got = {(c.drug_name, c.relation, c.level) for c in report.conflicts}
    assert got == {
        ("amoxicillin", "same_class", "contraindicated"),
        ("piperacillin", "same_class", "contraindicated"),
        ("ceftriaxone", "cross_reactive", "caution"),
        ("meropenem", "cross_reactive", "caution"),
    }
    assert report.unresolved == []


def test_drug_named_allergy_implies_its_class(store: CypherStore) -> None:
    report = store.allergy_conflicts(ids(store, "amoxicillin", "piperacillin"), ["amoxicillin"])
    got = {(c.drug_name, c.relation) for c in report.conflicts}
    assert got == {("amoxicillin", "same_drug"), ("piperacillin", "same_class")}


def test_sulfa_allergy_and_unknown_allergen(store: CypherStore) -> None:
    drugs = ids(store, "co-trimoxazole", "furosemide")
    report = store.allergy_conflicts(drugs, ["sulfa", "peanuts"])
    got = {(c.drug_name, c.relation) for c in report.conflicts}
    assert got == {("sulfamethoxazole", "same_class"), ("furosemide", "cross_reactive")}
    assert report.unresolved == ["peanuts"]


def test_allergies_flow_into_contraindications(store: CypherStore) -> None:
    found = store.contraindications(ids(store, "amoxicillin"), allergies=["penicillins"])
    assert [(c.kind, c.level) for c in found] == [("allergy", "contraindicated")]


# --- monitoring, guidelines, labs, phenotypes -----------------------------------------------------


def test_monitoring(store: CypherStore) -> None:
    found = store.monitoring_for(ids(store, "warfarin", "lithium", "vancomycin"))
    assert {(m.drug_name, m.loinc) for m in found} >= {
        ("warfarin", "6301-6"),
        ("lithium carbonate", "14334-7"),
        ("vancomycin", "4092-3"),
    }
    assert all(m.source and m.frequency for m in found)


def test_recommendations_by_condition_and_lab(store: CypherStore) -> None:
    recs = store.recommendations_for(["N17.9", "E11.9"], {"62238-1": 25})
    by_id = {r.id: r for r in recs}
    assert by_id["kg:Recommendation/kdigo-aki-2012-3.4.1"].guideline.year == 2012
    sglt2 = by_id["kg:Recommendation/kdigo-ckd-2024-sglt2-t2d"]
    assert (sglt2.matched_conditions, sglt2.matched_labs) == (["E11.9"], ["62238-1"])
    assert sglt2.strength.startswith("1")
    assert sglt2.evidence == "A"
    # both criteria are needed: diabetes without an eGFR result does not match
    assert "kg:Recommendation/kdigo-ckd-2024-sglt2-t2d" not in {
        r.id for r in store.recommendations_for(["E11.9"])
    }


def test_sepsis_recommendations(store: CypherStore) -> None:
    recs = store.recommendations_for(["A41.9"], {"2524-7": 4.1})
    assert {
        "kg:Recommendation/ssc-2021-antimicrobials-1h",
        "kg:Recommendation/ssc-2021-lactate",
    } <= {r.id for r in recs}


def test_lab_test(store: CypherStore) -> None:
    potassium = store.lab_test("2823-3")
    assert potassium is not None
    assert (potassium.unit, potassium.analyte, potassium.high) == ("mmol/L", "potassium", 5.0)
    assert store.lab_test("0000-0") is None


def test_phenotype_differential(store: CypherStore) -> None:
    seizure_like = store.phenotype_differential(["HP:0001250", "HP:0001263"], limit=5)
    assert 0 < len(seizure_like) <= 5
    top = seizure_like[0]
    assert top.score == 1.0
    assert top.matched == ["HP:0001250", "HP:0001263"]
    assert top.id.startswith("kg:Condition/")
    assert top.source
    assert store.phenotype_differential([], limit=5) == []


def test_existing_facts(store: CypherStore) -> None:
    asked = [
        "kg:Drug/11289",
        "kg:INTERACTS_WITH/warfarin|clarithromycin",
        "kg:Recommendation/ssc-2021-lactate",
        "kg:INTERACTS_WITH/warfarin|made-up",
        "kg:Nope/1",
        "not-a-kg-id",
    ]
    assert store.existing_facts(asked) == set(asked[:3])


def test_stats(store: CypherStore) -> None:
    stats = store.stats()
    assert stats.content_version
    assert stats.content_version.startswith("3-sample-")
    assert stats.nodes["Drug"] >= 120
    assert stats.relationships["INTERACTS_WITH"] > 150


def test_query_readonly(store: CypherStore) -> None:
    rows = store.query_readonly(
        "MATCH (d:Drug) WHERE d.name = $name RETURN d.rxcui AS rxcui", {"name": "warfarin"}
    )
    assert rows == [{"rxcui": "11289"}]
    with pytest.raises(ReadOnlyViolation):
        store.query_readonly("MATCH (d:Drug) SET d.name = 'x'")
