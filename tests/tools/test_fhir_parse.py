"""FHIR bundle parsing: every resource type, citation keys, and bad input that must not pass."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from core.errors import InvalidFhir, RecordNotFound
from tools.fhir.parse import parse_bundle

NOW = datetime(2026, 1, 1, tzinfo=UTC)
LOINC = "http://loinc.org"


def res(rtype: str, rid: str, **body: Any) -> dict[str, Any]:
    return {"resource": {"resourceType": rtype, "id": rid, **body}}


def obs(
    rid: str, loinc: str, value: float, unit: str, when: str = "2025-03-01T08:00:00Z"
) -> dict[str, Any]:
    return res(
        "Observation",
        rid,
        status="final",
        code={"coding": [{"system": LOINC, "code": loinc, "display": loinc}]},
        subject={"reference": "Patient/p1"},
        effectiveDateTime=when,
        valueQuantity={
            "value": value,
            "unit": unit,
            "system": "http://unitsofmeasure.org",
            "code": unit,
        },
    )


def bundle(*entries: dict[str, Any]) -> dict[str, Any]:
    patient = res(
        "Patient", "p1", gender="female", birthDate="1950-01-02", name=[{"text": "Test, Pat"}]
    )
    return {"resourceType": "Bundle", "type": "collection", "entry": [patient, *entries]}


def parse(*entries: dict[str, Any]) -> Any:
    return parse_bundle(bundle(*entries), now=NOW)


def test_patient_and_encounter_ward_from_location_resource() -> None:
    record = parse(
        res("Location", "loc", name="5A"),
        res(
            "Encounter",
            "e1",
            status="in-progress",
            subject={"reference": "Patient/p1"},
            period={"start": "2025-03-01T08:00:00+08:00"},
            reasonCode=[{"text": "Chest pain"}],
            location=[{"location": {"reference": "Location/loc"}, "status": "active"}],
            **{"class": {"code": "IMP"}},
        ),
    )
    assert record.patient.ref == "Patient/p1"
    assert record.patient.sex == "female"
    assert record.patient.ward == "5A"
    assert record.patient.age_on(NOW.date()) == 75
    assert record.encounters[0].ref == "Encounter/e1"
    assert record.encounters[0].reason == "Chest pain"


def test_condition_medications_allergy() -> None:
    record = parse(
        res(
            "Condition",
            "c1",
            subject={"reference": "Patient/p1"},
            clinicalStatus={"coding": [{"code": "active"}]},
            code={
                "coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "N17.9"}],
                "text": "AKI",
            },
        ),
        res(
            "MedicationRequest",
            "m1",
            status="draft",
            intent="proposal",
            subject={"reference": "Patient/p1"},
            medicationCodeableConcept={
                "coding": [
                    {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "723"}
                ],
                "text": "amoxicillin",
            },
            dosageInstruction=[{"text": "500 mg TDS", "route": {"text": "oral"}}],
        ),
        res(
            "Medication",
            "med-x",
            code={
                "coding": [
                    {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "11289"}
                ],
                "text": "warfarin",
            },
        ),
        res(
            "MedicationStatement",
            "ms1",
            status="active",
            subject={"reference": "Patient/p1"},
            medicationReference={"reference": "Medication/med-x"},
        ),
        res(
            "AllergyIntolerance",
            "a1",
            patient={"reference": "Patient/p1"},
            criticality="high",
            code={
                "coding": [
                    {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "7980"}
                ],
                "text": "penicillin G",
            },
            reaction=[{"manifestation": [{"text": "Anaphylaxis"}]}],
        ),
    )
    (problem,) = record.problems
    assert (problem.ref, problem.display, problem.unknown_code) == ("Condition/c1", "AKI", False)
    proposal, statement = record.medications
    assert proposal.proposed
    assert proposal.intent == "proposal"
    assert proposal.dose == "500 mg TDS"
    assert statement.kind == "statement"
    assert statement.name == "warfarin"
    assert not statement.unknown_code
    assert record.allergies[0].reaction == "Anaphylaxis"
    assert record.allergies[0].criticality == "high"


def test_blood_pressure_components_share_the_citation_key() -> None:
    bp = res(
        "Observation",
        "bp1",
        status="final",
        code={"coding": [{"system": LOINC, "code": "85354-9"}]},
        subject={"reference": "Patient/p1"},
        effectiveDateTime="2025-03-01T08:00:00Z",
        component=[
            {
                "code": {"coding": [{"system": LOINC, "code": "8480-6"}]},
                "valueQuantity": {"value": 92, "code": "mm[Hg]"},
            },
            {
                "code": {"coding": [{"system": LOINC, "code": "8462-4"}]},
                "valueQuantity": {"value": 54, "code": "mm[Hg]"},
            },
        ],
    )
    record = parse(bp)
    assert [(o.ref, o.loinc, o.value, o.panel) for o in record.observations] == [
        ("Observation/bp1", "8480-6", 92.0, "85354-9"),
        ("Observation/bp1", "8462-4", 54.0, "85354-9"),
    ]


UCUM_SYSTEM = "http://unitsofmeasure.org"
MEANING = "http://terminology.hl7.org/CodeSystem/referencerange-meaning"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"


def quantity(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM_SYSTEM, "code": unit}


def test_the_laboratorys_reference_range_and_flag_are_kept() -> None:
    k = obs("k1", "2823-3", 5.1, "mmol/L")
    k["resource"]["referenceRange"] = [
        {  # a therapeutic range and one for another population come first: not ours
            "low": quantity(4.0, "mmol/L"),
            "high": quantity(5.0, "mmol/L"),
            "type": {"coding": [{"system": MEANING, "code": "therapeutic"}]},
        },
        {"high": quantity(5.5, "mmol/L"), "age": {"high": {"value": 1, "code": "a"}}},
        {
            "low": quantity(3.5, "mmol/L"),
            "high": quantity(5.1, "mmol/L"),
            "type": {"coding": [{"system": MEANING, "code": "normal"}]},
            "text": "3.5-5.1 mmol/L (QMH chemistry)",
        },
    ]
    k["resource"]["interpretation"] = [{"coding": [{"system": INTERPRETATION, "code": "N"}]}]
    plain = obs("k2", "2823-3", 4.0, "mmol/L")
    record = parse(k, plain)
    first, second = record.observations
    assert first.lab_range is not None
    assert (first.lab_range.low, first.lab_range.high, first.lab_range.unit) == (
        3.5,
        5.1,
        "mmol/L",
    )
    assert first.lab_range.text == "3.5-5.1 mmol/L (QMH chemistry)"
    assert first.lab_interpretation == "N"
    assert (second.lab_range, second.lab_interpretation) == (None, "")
    assert record.data_issues == ()


def test_a_contradictory_reference_range_is_an_issue_and_not_used() -> None:
    k = obs("k1", "2823-3", 5.1, "mmol/L")
    k["resource"]["referenceRange"] = [
        {"low": quantity(5.1, "mmol/L"), "high": quantity(3.5, "mmol/L")}
    ]
    record = parse(k)
    assert record.observations[0].lab_range is None
    [issue] = record.data_issues
    assert (issue.ref, issue.kind) == ("Observation/k1", "invalid_range")
    assert issue.path == "Observation.referenceRange[0]"
    assert "low 5.1 above high 3.5" in issue.message


def test_document_reference_base64_traditional_chinese() -> None:
    text = "入院記錄: 78歲男性, AKI on CKD. 暫停 ibuprofen."
    note = res(
        "DocumentReference",
        "n1",
        status="current",
        subject={"reference": "Patient/p1"},
        date="2025-03-01T12:00:00+08:00",
        description="入院記錄",
        content=[
            {
                "attachment": {
                    "contentType": "text/plain; charset=utf-8",
                    "language": "zh-TW",
                    "data": base64.b64encode(text.encode()).decode(),
                }
            }
        ],
    )
    (parsed,) = parse(note).notes
    assert parsed.text == text
    assert parsed.language == "zh-TW"
    assert parsed.ref == "DocumentReference/n1"


def test_big5_note_decoded_by_declared_charset() -> None:
    text = "病程紀錄"
    note = res(
        "DocumentReference",
        "n1",
        status="current",
        subject={"reference": "Patient/p1"},
        content=[
            {
                "attachment": {
                    "contentType": "text/plain; charset=big5",
                    "data": base64.b64encode(text.encode("big5")).decode(),
                }
            }
        ],
    )
    assert parse(note).notes[0].text == text


def test_undecodable_note_names_the_attachment() -> None:
    note = res(
        "DocumentReference",
        "n1",
        status="current",
        subject={"reference": "Patient/p1"},
        content=[
            {
                "attachment": {
                    "contentType": "text/plain",
                    "data": base64.b64encode(b"\xff\xfe\xfa").decode(),
                }
            }
        ],
    )
    record = parse(note, obs("o1", "2823-3", 4.0, "mmol/L"))  # the rest is still read
    assert record.notes == ()
    assert [o.ref for o in record.observations] == ["Observation/o1"]
    (issue,) = [i for i in record.data_issues if i.kind == "unreadable"]
    assert issue.path == "Bundle.entry[1].resource.content[0].attachment.data"


def test_diagnostic_report_conclusion_and_imaging_study_locator() -> None:
    study = res(
        "ImagingStudy",
        "img1",
        status="available",
        subject={"reference": "Patient/p1"},
        started="2025-03-01T09:00:00Z",
        series=[
            {
                "uid": "1.2.3",
                "modality": {"code": "CT"},
                "bodySite": {"code": "69536005", "display": "Head structure"},
                "instance": [
                    {
                        "uid": "1.2.3.4",
                        "sopClass": {"code": "1.2.840.10008.5.1.4.1.1.2"},
                        "extension": [
                            {
                                "url": "https://wardround.dev/fhir/StructureDefinition/dicom-file",
                                "valueString": "pydicom:data/test_files/CT_small.dcm",
                            }
                        ],
                    }
                ],
            }
        ],
    )
    report = res(
        "DiagnosticReport",
        "r1",
        status="final",
        code={"text": "CT head"},
        subject={"reference": "Patient/p1"},
        conclusion="No haemorrhage.",
    )
    record = parse(study, report)
    (img,) = record.imaging
    assert img.modality == "CT"
    assert img.body_site == "Head structure"
    assert img.dicom_uris == ("pydicom:data/test_files/CT_small.dcm",)
    assert Path(img.dicom_files[0]).is_file()
    assert record.notes[0].category == "report"
    assert record.notes[0].text == "No haemorrhage."
    assert {"ImagingStudy/img1", "DiagnosticReport/r1"} <= record.refs()


@pytest.mark.parametrize(
    "locator",
    ["../../etc/passwd", "/etc/passwd", "pydicom:../../os.py", "nosuchpkg:x.dcm", "missing.dcm"],
)
def test_bad_dicom_locators_are_flagged_not_followed(locator: str) -> None:
    study = res(
        "ImagingStudy",
        "img1",
        status="available",
        subject={"reference": "Patient/p1"},
        extension=[
            {
                "url": "https://wardround.dev/fhir/StructureDefinition/dicom-file",
                "valueString": locator,
            }
        ],
    )
    record = parse(study)
    assert record.imaging[0].dicom_files == ()
    assert [i.kind for i in record.data_issues] == ["unresolved_file"]


def test_an_invalid_element_is_a_named_issue_and_the_rest_is_read() -> None:
    bad = obs("o1", "2823-3", 4.0, "mmol/L")
    bad["resource"]["valueQuantity"]["value"] = "four"
    record = parse(obs("o0", "2823-3", 4.0, "mmol/L"), bad, obs("o2", "2823-3", 4.2, "mmol/L"))
    assert [o.ref for o in record.observations] == ["Observation/o0", "Observation/o2"]
    (issue,) = record.data_issues
    assert (issue.kind, issue.ref) == ("unreadable", "Observation/o1")
    assert issue.path == "Bundle.entry[2].resource.valueQuantity.value"


def test_an_unknown_element_is_a_named_issue() -> None:
    bad = obs("o1", "2823-3", 4.0, "mmol/L")
    bad["resource"]["valueQuantityy"] = {}
    (issue,) = parse(bad).data_issues
    assert issue.kind == "unreadable"
    assert "valueQuantityy" in issue.path


def test_a_bundle_whose_own_structure_is_invalid_is_refused() -> None:
    broken = bundle(obs("o1", "2823-3", 4.0, "mmol/L"))
    broken["type"] = 42
    with pytest.raises(InvalidFhir) as err:
        parse_bundle(broken)
    assert err.value.path == "Bundle.type"
    assert err.value.http_status == 422


def test_not_a_bundle() -> None:
    with pytest.raises(InvalidFhir) as err:
        parse_bundle({"resourceType": "Patient", "id": "p1"})
    assert err.value.path == "Bundle.resourceType"


def test_duplicate_resource_ids_are_an_error() -> None:
    with pytest.raises(InvalidFhir, match=r"duplicate resource Observation/o1.*entry\[1\]") as err:
        parse(obs("o1", "2823-3", 4.0, "mmol/L"), obs("o1", "2823-3", 4.5, "mmol/L"))
    assert err.value.path == "Bundle.entry[2].resource.id"


def test_no_patient_and_two_patients() -> None:
    with pytest.raises(InvalidFhir, match="no Patient"):
        parse_bundle({"resourceType": "Bundle", "type": "collection", "entry": []})
    two = bundle(res("Patient", "p2"))
    with pytest.raises(InvalidFhir, match="2 Patient resources"):
        parse_bundle(two)


def test_fact_about_another_patient_is_refused() -> None:
    other = obs("o1", "2823-3", 4.0, "mmol/L")
    other["resource"]["subject"] = {"reference": "Patient/someone-else"}
    with pytest.raises(InvalidFhir, match="not this bundle's Patient/p1") as err:
        parse(other)
    assert err.value.path == "Bundle.entry[1].resource.subject.reference"


def test_unknown_and_malformed_codes_are_kept_and_flagged() -> None:
    local = res(
        "Observation",
        "o1",
        status="final",
        subject={"reference": "Patient/p1"},
        code={"coding": [{"system": "urn:hospital:lab", "code": "K-WB"}], "text": "Whole blood K"},
        valueQuantity={"value": 4.1, "code": "mmol/L"},
    )
    bad_check_digit = obs("o2", "2823-4", 4.0, "mmol/L")
    uncoded = res(
        "Condition", "c1", subject={"reference": "Patient/p1"}, code={"text": "funny turn"}
    )
    record = parse(local, bad_check_digit, uncoded)
    assert [(o.ref, o.loinc, o.unknown_code) for o in record.observations] == [
        ("Observation/o1", "", True),
        ("Observation/o2", "", True),
    ]
    assert record.observations[0].codings[0].code == "K-WB"
    assert record.problems[0].unknown_code
    assert sorted(i.ref for i in record.data_issues if i.kind == "unknown_code") == [
        "Condition/c1",
        "Observation/o1",
        "Observation/o2",
    ]


def test_future_dates_and_negative_values_are_flagged_not_coerced() -> None:
    record = parse(
        obs("o1", "2160-0", -1.2, "mg/dL"),
        obs("o2", "2823-3", 4.0, "mmol/L", when="2027-05-01T08:00:00Z"),
        obs("o3", "11555-0", -6.0, "mmol/L"),
    )
    assert record.observations[0].value == -1.2
    assert record.observations[1].effective == datetime(2027, 5, 1, 8, tzinfo=UTC)
    kinds = {(i.ref, i.kind) for i in record.data_issues}
    assert kinds == {("Observation/o1", "impossible_value"), ("Observation/o2", "future_date")}


def test_transaction_bundle_without_ids_uses_full_urls() -> None:
    doc = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:11111111-1111-1111-1111-111111111111",
                "resource": {"resourceType": "Patient"},
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "fullUrl": "urn:uuid:22222222-2222-2222-2222-222222222222",
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"coding": [{"system": LOINC, "code": "2823-3"}]},
                    "subject": {"reference": "urn:uuid:11111111-1111-1111-1111-111111111111"},
                    "valueQuantity": {"value": 4.2, "code": "mmol/L"},
                },
                "request": {"method": "POST", "url": "Observation"},
            },
        ],
    }
    record = parse_bundle(doc, now=NOW)
    assert record.patient.ref == "Patient/11111111-1111-1111-1111-111111111111"
    assert record.observations[0].ref == "Observation/22222222-2222-2222-2222-222222222222"


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(RecordNotFound):
        parse_bundle(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "resourceType": ', encoding="utf-8")
    with pytest.raises(InvalidFhir, match=r"not JSON.*line 2"):
        parse_bundle(broken)
    good = tmp_path / "good.json"
    good.write_text(json.dumps(bundle()), encoding="utf-8")
    assert parse_bundle(good, now=NOW).source == str(good)


def test_record_is_frozen_and_every_fact_has_a_ref() -> None:
    record = parse(obs("o1", "2823-3", 4.0, "mmol/L"))
    with pytest.raises(ValueError, match="frozen"):
        record.patient.name = "x"
    assert record.refs() == {"Patient/p1", "Observation/o1"}
