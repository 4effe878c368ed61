"""What the notes say that the codes do not, through the real parser, KG checks and ward round: a
note-only penicillin allergy meets a coded piperacillin/tazobactam order; a note-only drug and a
note-only pregnancy are surfaced as not coded; what the codes already say is not repeated."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from agents.kg_checks import kg_findings
from core.domain import Finding, PatientRecord
from evals.third_party import Expectation as Exp
from evals.third_party import met, round_with_model_down
from kg.store import GraphStore
from tools.fhir.parse import parse_bundle

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
NOTE = "DocumentReference/adm-note"


def _note(text: str) -> dict[str, Any]:
    return {
        "resourceType": "DocumentReference",
        "id": "adm-note",
        "status": "current",
        "subject": {"reference": "Patient/p1"},
        "date": "2026-11-20T09:00:00Z",
        "description": "Admission note",
        "content": [
            {
                "attachment": {
                    "contentType": "text/plain; charset=utf-8",
                    "data": base64.b64encode(text.encode("utf-8")).decode("ascii"),
                }
            }
        ],
    }


def _order(mid: str, rxcui: str, name: str) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": mid,
        "status": "active",
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "authoredOn": "2026-11-20T10:00:00Z",
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM, "code": rxcui, "display": name}],
            "text": name,
        },
    }


def bundle(note: str, *extra: dict[str, Any], sex: str = "female") -> dict[str, Any]:
    patient = {"resourceType": "Patient", "id": "p1", "gender": sex, "birthDate": "1990-02-01"}
    order = _order("tzp", "8339", "piperacillin / tazobactam 4.5 g IV")
    resources = [patient, _note(note), order, *extra]
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in resources],
    }


def record(note: str, *extra: dict[str, Any], sex: str = "female") -> PatientRecord:
    return parse_bundle(bundle(note, *extra, sex=sex))


def of_kind(findings: list[Finding], kind: str) -> list[Finding]:
    return [f for f in findings if f.kind == kind]


async def test_a_note_only_penicillin_allergy_meets_a_piperacillin_order(
    curated_kg: GraphStore,
) -> None:
    findings = await kg_findings(curated_kg, record("Allergic to penicillin (anaphylaxis 2015)."))
    [conflict] = [f for f in of_kind(findings, "allergy_conflict") if "piperacillin" in f.drugs]
    assert conflict.severity.value == "critical"
    assert f"'penicillin' allergy from note {NOTE}, not coded" in conflict.summary
    assert NOTE in {c.ref for c in conflict.citations}
    assert "MedicationRequest/tzp" in {c.ref for c in conflict.citations}
    [surfaced] = of_kind(findings, "note_allergy")
    assert f"Allergy to penicillin from note {NOTE} of 2026-11-20, not coded" in surfaced.summary


async def test_the_same_allergy_written_in_traditional_chinese(curated_kg: GraphStore) -> None:
    findings = await kg_findings(curated_kg, record("過敏史：對盤尼西林過敏（過敏性休克）。"))
    conflicts = [f for f in of_kind(findings, "allergy_conflict") if "piperacillin" in f.drugs]
    assert conflicts
    assert "from note DocumentReference/adm-note, not coded" in conflicts[0].summary


async def test_denied_or_no_known_allergies_meet_nothing(curated_kg: GraphStore) -> None:
    for text in ("Denies allergies. No known drug allergy.", "無已知藥物過敏。", "NKDA"):
        findings = await kg_findings(curated_kg, record(text))
        assert not of_kind(findings, "allergy_conflict"), text
        assert not of_kind(findings, "note_allergy"), text


async def test_a_coded_allergy_is_not_repeated_from_the_note(curated_kg: GraphStore) -> None:
    coded = {
        "resourceType": "AllergyIntolerance",
        "id": "pcn",
        "patient": {"reference": "Patient/p1"},
        "code": {"coding": [{"system": RXNORM, "code": "70618", "display": "penicillin"}]},
    }
    findings = await kg_findings(curated_kg, record("Penicillin allergy (rash).", coded))
    assert not of_kind(findings, "note_allergy")
    [conflict] = [f for f in of_kind(findings, "allergy_conflict") if "piperacillin" in f.drugs]
    assert "recorded 'penicillin' allergy" in conflict.summary
    assert NOTE not in {c.ref for c in conflict.citations}


async def test_a_current_drug_only_in_the_note_is_surfaced(curated_kg: GraphStore) -> None:
    text = "On warfarin for AF. Previously on amiodarone. Started piperacillin/tazobactam today."
    findings = await kg_findings(curated_kg, record(text))
    surfaced = of_kind(findings, "note_medication")
    assert [f.drugs for f in surfaced] == [("warfarin",)]  # amiodarone is history; tazocin coded
    assert f"Current drug warfarin from note {NOTE} of 2026-11-20, not coded" in surfaced[0].summary
    assert surfaced[0].citations[0].ref == NOTE


async def test_a_pregnancy_only_in_the_note_is_surfaced(curated_kg: GraphStore) -> None:
    findings = await kg_findings(curated_kg, record("G2P1, currently 14 weeks pregnant."))
    [pregnancy] = of_kind(findings, "note_pregnancy")
    assert pregnancy.summary.startswith(f"Pregnancy from note {NOTE} of 2026-11-20, not coded")
    assert pregnancy.severity.value == "high"
    for text, sex in (("Not pregnant.", "female"), ("Wife is 14 weeks pregnant.", "female"),
                      ("14 weeks pregnant.", "male")):  # fmt: skip
        findings = await kg_findings(curated_kg, record(text, sex=sex))
        assert not of_kind(findings, "note_pregnancy"), text


async def test_a_ward_round_with_the_model_down_says_it(
    curated_kg: GraphStore, tmp_path: Path
) -> None:
    (tmp_path / "p1.json").write_text(json.dumps(bundle("對 penicillin 過敏。")), encoding="utf-8")
    result = await round_with_model_down(curated_kg, "p1", "Can she have Tazocin?", tmp_path)
    expected = Exp("p1", "allergy_conflict", "note allergy", drugs=("piperacillin",),
                   text="from note DocumentReference/adm-note, not coded")  # fmt: skip
    assert met(expected, result), [f.summary for f in result.findings]
    refs = parse_bundle(bundle("x")).refs()
    assert all(c.ref in refs for f in result.findings for c in f.citations if c.kind == "fhir")


async def test_a_drug_any_coded_order_names_is_not_said_to_be_uncoded(
    curated_kg: GraphStore,
) -> None:
    """An order the KG cannot resolve, or one stopped, still names the drug: the note is not the
    only word on it."""
    stopped = _order("warf", "000000", "Warfarin Sodium 5 MG Oral Tablet") | {"status": "stopped"}
    unknown = _order("vitd", "000001", "Colecalciferol 1000 unit capsule")
    text = "On warfarin for AF. Taking colecalciferol."
    findings = await kg_findings(curated_kg, record(text, stopped, unknown))
    assert not of_kind(findings, "note_medication")


async def test_a_report_conclusion_is_not_read_as_a_clinical_note(curated_kg: GraphStore) -> None:
    report = {
        "resourceType": "DiagnosticReport",
        "id": "xr",
        "status": "final",
        "code": {"text": "X-ray both shoulders"},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2026-11-19T09:00:00Z",
        "conclusion": "Initial relief with prednisone. Allergic to penicillin.",
    }
    parsed = record("Seen on the ward.", report)
    assert [n.category for n in parsed.notes] == ["note", "report"]
    findings = await kg_findings(curated_kg, parsed)
    assert not [f for f in findings if f.kind.startswith("note_")]


async def test_a_pregnancy_only_in_the_note_meets_the_pregnancy_contraindications(
    curated_kg: GraphStore,
) -> None:
    """An ACE inhibitor in a woman whose pregnancy only a note affirms (English, then
    Traditional Chinese): the same contraindication a coded pregnancy raises, cited to the note
    and said to come from it; negated, someone else's or a man's 'pregnancy' raises none."""
    lisinopril = _order("acei", "29046", "lisinopril 10 MG Oral Tablet")
    for text in ("G2P1, currently 14 weeks pregnant. BP 150/95.", "目前懷孕14週，血壓偏高。"):
        findings = await kg_findings(curated_kg, record(text, lisinopril))
        [fetal] = [f for f in of_kind(findings, "contraindication") if "lisinopril" in f.drugs]
        assert fetal.severity.value == "critical", text
        assert "Fetal toxicity" in fetal.summary, text
        assert f"Pregnancy from note {NOTE}, not coded: confirm it." in fetal.summary, text
        assert {NOTE, "MedicationRequest/acei"} <= {c.ref for c in fetal.citations}, text
        [surfaced] = of_kind(findings, "note_pregnancy")
        assert "checked against it as if it were coded" in surfaced.summary
    for text, sex in (("Not pregnant.", "female"), ("Wife is 14 weeks pregnant.", "female"),
                      ("否認懷孕。", "female"), ("14 weeks pregnant.", "male")):  # fmt: skip
        findings = await kg_findings(curated_kg, record(text, lisinopril, sex=sex))
        assert not [f for f in of_kind(findings, "contraindication") if "Fetal" in f.summary], text


async def test_a_coded_pregnancy_is_cited_as_coded_not_from_the_note(
    curated_kg: GraphStore,
) -> None:
    lisinopril = _order("acei", "29046", "lisinopril 10 MG Oral Tablet")
    coded = {
        "resourceType": "Condition",
        "id": "preg",
        "subject": {"reference": "Patient/p1"},
        "clinicalStatus": {"coding": [{"code": "active"}]},
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "Z34.02",
                             "display": "Encounter for supervision of normal first pregnancy, "
                             "second trimester"}]},
    }  # fmt: skip
    findings = await kg_findings(curated_kg, record("14 weeks pregnant.", lisinopril, coded))
    [fetal] = [f for f in of_kind(findings, "contraindication") if "lisinopril" in f.drugs]
    assert "from note" not in fetal.summary
    assert "Condition/preg" in {c.ref for c in fetal.citations}
    assert not of_kind(findings, "note_pregnancy")
