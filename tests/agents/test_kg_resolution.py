"""The knowledge-graph checks on facts coded the way other systems code them (real KG).

An ACE inhibitor in a woman whose pre-eclampsia is coded in SNOMED CT only is contraindicated; a
penicillin allergy recorded as a SNOMED CT substance code meets a piperacillin order; a refuted
allergy and a resolved condition do not fire; heart failure in SNOMED CT meets an NSAID.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from agents.kg_checks import kg_findings
from tools.fhir import parse_bundle
from tools.fhir.codes import RXNORM, SNOMED

NOW = datetime(2026, 12, 6, tzinfo=UTC)


def bundle(*resources: dict[str, Any], sex: str = "female") -> dict[str, Any]:
    patient = {"resourceType": "Patient", "id": "p", "gender": sex, "birthDate": "1992-04-01"}
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in (patient, *resources)],
    }


def order(rid: str, rxnorm: str, text: str) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest", "id": rid, "status": "active", "intent": "order",
        "subject": {"reference": "Patient/p"}, "authoredOn": "2026-12-01",
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM, "code": rxnorm}], "text": text,
        },
    }  # fmt: skip


def condition(rid: str, code: str, status: str = "active", **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Condition", "id": rid, "subject": {"reference": "Patient/p"},
        "code": {"coding": [{"system": SNOMED, "code": code}]},
        "clinicalStatus": {"coding": [{"code": status}]}, "onsetDateTime": "2026-11-20",
        **extra,
    }  # fmt: skip


def allergy(rid: str, code: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "AllergyIntolerance", "id": rid, "patient": {"reference": "Patient/p"},
        "code": {"coding": [{"system": SNOMED, "code": code}]}, "criticality": "high", **extra,
    }  # fmt: skip


async def test_ace_inhibitor_in_pregnancy_coded_as_snomed_pre_eclampsia(curated_kg) -> None:
    record = parse_bundle(
        bundle(condition("pe", "398254007"), order("acei", "29046", "Lisinopril 10 MG")), now=NOW
    )
    findings = await kg_findings(curated_kg, record)
    pregnancy = [
        f for f in findings
        if f.kind == "contraindication" and "Fetal toxicity" in f.summary
    ]  # fmt: skip
    assert len(pregnancy) == 1
    assert pregnancy[0].severity.value == "critical"
    refs = {c.ref for c in pregnancy[0].citations}
    assert {"Condition/pe", "MedicationRequest/acei"} <= refs


async def test_resolved_pregnancy_is_not_pregnancy(curated_kg) -> None:
    record = parse_bundle(
        bundle(condition("pe", "398254007", "resolved"), order("acei", "29046", "Lisinopril")),
        now=NOW,
    )
    findings = await kg_findings(curated_kg, record)
    assert not [f for f in findings if "Fetal toxicity" in f.summary]


async def test_a_penicillin_substance_code_meets_piperacillin(curated_kg) -> None:
    record = parse_bundle(
        bundle(allergy("pen", "373270004"), order("tzp", "8339", "piperacillin / tazobactam")),
        now=NOW,
    )
    findings = await kg_findings(curated_kg, record)
    conflicts = [f for f in findings if f.kind == "allergy_conflict"]
    assert len(conflicts) == 1
    assert conflicts[0].severity.value == "critical"
    assert {"AllergyIntolerance/pen", "MedicationRequest/tzp"} <= {
        c.ref for c in conflicts[0].citations
    }


async def test_a_refuted_penicillin_allergy_does_not_fire(curated_kg) -> None:
    refuted = allergy("pen", "373270004", verificationStatus={"coding": [{"code": "refuted"}]})
    record = parse_bundle(bundle(refuted, order("tzp", "8339", "piperacillin")), now=NOW)
    findings = await kg_findings(curated_kg, record)
    assert not [f for f in findings if f.kind == "allergy_conflict"]


async def test_snomed_heart_failure_meets_an_nsaid(curated_kg) -> None:
    record = parse_bundle(
        bundle(condition("hf", "42343007"), order("ibu", "5640", "Ibuprofen 400 MG"), sex="male"),
        now=NOW,
    )
    findings = await kg_findings(curated_kg, record)
    heart_failure = [
        f for f in findings
        if f.kind == "contraindication" and "Condition/hf" in {c.ref for c in f.citations}
    ]  # fmt: skip
    assert heart_failure
    assert "heart failure" in heart_failure[0].summary
