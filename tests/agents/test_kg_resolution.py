"""The knowledge-graph checks on facts coded the way other systems code them (real KG).

An ACE inhibitor in a woman whose pre-eclampsia is coded in SNOMED CT only is contraindicated; a
penicillin allergy recorded as a SNOMED CT substance code meets a piperacillin order; a refuted
allergy and a resolved condition do not fire; heart failure in SNOMED CT meets an NSAID.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
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


# --- a third-party record: eGFR under another code, and two eGFRs at one moment ---------------

JOSUE = Path(__file__).parents[1] / "data" / "fhir-external" / "synthea21-josue-sipes.json"


async def test_metformin_reads_the_egfr_on_record_under_another_loinc_code(curated_kg) -> None:
    """The KG's metformin monitoring asks for eGFR as 98979-8 (CKD-EPI 2021); Synthea reports it
    as 33914-3. It is on record (last 2021-03-13), so 'none on record' would be a false alarm."""
    findings = await kg_findings(curated_kg, parse_bundle(JOSUE, now=NOW))
    egfr = [f for f in findings if "metformin" in f.drugs and "eGFR" in f.summary]
    assert not [f for f in egfr if f.kind == "missing_monitoring"], [f.summary for f in egfr]
    [monitor] = [f for f in egfr if f.kind == "monitoring"]
    assert "last 2021-03-13" in monitor.summary


async def test_of_two_egfrs_at_one_moment_the_kg_checks_read_the_lower(curated_kg) -> None:
    """At 2021-03-13 21:37 the record reports eGFR 37 (mL/min/1.73 m2) and then 82 (mL/min): the
    metformin renal check reads 37 (dose adjustment at eGFR 30-44), as the lab flags do."""
    record = parse_bundle(JOSUE, now=NOW)
    findings = await kg_findings(curated_kg, record)
    [renal] = [f for f in findings if f.kind == "contraindication" and "metformin" in f.drugs]
    assert "dose adjustment needed" in renal.summary
    assert "(patient: 37.1966)" in renal.summary
    low = [o for o in record.observations if o.loinc == "33914-3" and o.value and 37 < o.value < 38]
    assert low[-1].ref in {c.ref for c in renal.citations}


def test_egfr_codes_are_one_analyte_for_every_check() -> None:
    from tools.labs.ranges import same_analyte

    egfr = same_analyte("98979-8")
    assert {"33914-3", "62238-1", "98979-8", "48642-3"} <= egfr
    assert same_analyte("33914-3") == egfr == same_analyte("62238-1")
    assert {"2160-0", "14682-9", "38483-4"} <= same_analyte("2160-0")
    assert "2160-0" not in egfr
    assert same_analyte("0000-0") == {"0000-0"}


# --- monitoring that holds only for some patients ----------------------------------------------

EXTERNAL = JOSUE.parent


async def test_steroid_glucose_checks_are_for_patients_with_diabetes(curated_kg) -> None:
    """'Four times daily in patients with diabetes or hyperglycaemia on high-dose steroids' (ADA
    2025): not asked of a gout patient on prednisone 4 mg without diabetes (the NZ IPS record),
    asked once diabetes (SNOMED CT, read as ICD-10-CM E11) is on the problem list."""
    steroid = order("pred", "8640", "prednisone 5 MG Oral Tablet")
    findings = await kg_findings(curated_kg, parse_bundle(bundle(steroid), now=NOW))
    assert not [f for f in findings if "prednisone" in f.drugs and "glucose" in f.summary.lower()]
    diabetic = bundle(steroid, condition("dm", "44054006"))
    findings = await kg_findings(curated_kg, parse_bundle(diabetic, now=NOW))
    [glucose] = [f for f in findings if "prednisone" in f.drugs and "Blood glucose" in f.summary]
    assert glucose.kind == "missing_monitoring"
    record = parse_bundle(EXTERNAL / "ips-nz-peter-jordan-labs.json", now=NOW)
    findings = await kg_findings(curated_kg, record)
    assert not [f for f in findings if "prednisone" in f.drugs and "glucose" in f.summary.lower()]


async def test_potassium_during_an_insulin_infusion_is_for_dka_not_premixed_insulin(
    curated_kg,
) -> None:
    """josue-sipes takes subcutaneous Humulin 70/30 with no ketoacidosis coded: the 'during an
    intravenous insulin infusion (DKA, HHS)' potassium schedule is not his; the shipped DKA
    patient (E10.10) gets it."""
    from core.settings import SHIPPED_DATA

    findings = await kg_findings(curated_kg, parse_bundle(JOSUE, now=NOW))
    assert not [f for f in findings if "insulin infusion" in f.summary]
    dka = parse_bundle(SHIPPED_DATA / "patients" / "dka.json", now=NOW)
    findings = await kg_findings(curated_kg, dka)
    assert [f for f in findings if "insulin regular" in f.drugs and "potassium" in f.summary]
