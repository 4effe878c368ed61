"""What the patient is on now: status, intent and effective period decide (FHIR R4
MedicationRequest.status / MedicationStatement.status value sets), repeated prescriptions of one
product collapse into the latest, and Medication resources (referenced, contained, with
ingredient[]) are read."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.tools.test_fhir_parse import bundle, res
from tools.fhir.parse import parse_bundle
from tools.resolve.medications import current_medications

NOW = datetime(2026, 1, 1, tzinfo=UTC)
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
WARFARIN_5MG = {
    "coding": [{"system": RXNORM, "code": "855332", "display": "Warfarin Sodium 5 MG Oral Tablet"}]
}
SUBJECT = {"reference": "Patient/p1"}
ATC = "http://www.whocc.no/atc"


def request(rid: str, status: str, when: str = "2025-06-01", **body: Any) -> dict[str, Any]:
    body.setdefault("medicationCodeableConcept", WARFARIN_5MG)
    return res(
        "MedicationRequest",
        rid,
        status=status,
        intent=body.pop("intent", "order"),
        subject=SUBJECT,
        authoredOn=when,
        **body,
    )


def statement(rid: str, status: str, period: dict[str, str]) -> dict[str, Any]:
    return res(
        "MedicationStatement",
        rid,
        status=status,
        subject=SUBJECT,
        medicationCodeableConcept={"text": "naproxen 500 MG Oral Tablet"},
        effectivePeriod=period,
    )


def current(*entries: dict[str, Any]) -> list[str]:
    record = parse_bundle(bundle(*entries), now=NOW)
    return [m.ref for m, _ in current_medications(record, NOW)]


def test_stopped_completed_cancelled_and_entered_in_error_are_history() -> None:
    refs = current(
        request("stopped", "stopped"),
        request("completed", "completed"),
        request("cancelled", "cancelled"),
        request("error", "entered-in-error"),
        request("on", "active", medicationCodeableConcept={"text": "digoxin 0.125 MG"}),
    )
    assert refs == ["MedicationRequest/on"]


def test_on_hold_draft_intended_and_unknown_status_are_still_checked() -> None:
    refs = current(
        request("held", "on-hold", medicationCodeableConcept={"text": "a"}),
        request("draft", "draft", medicationCodeableConcept={"text": "b"}),
        statement("intended", "intended", {"start": "2025-12-01"}),
    )
    assert refs == [
        "MedicationRequest/held",
        "MedicationRequest/draft",
        "MedicationStatement/intended",
    ]


def test_an_option_is_not_an_order() -> None:
    assert current(request("opt", "active", intent="option")) == []


def test_a_statement_whose_period_ended_is_history() -> None:
    ended = statement("ended", "active", {"start": "2020-01-01", "end": "2020-03-01"})
    ongoing = statement("ongoing", "active", {"start": "2025-01-01", "end": "2026-06-01"})
    assert current(ended, ongoing) == ["MedicationStatement/ongoing"]


def test_repeated_prescriptions_collapse_into_the_latest() -> None:
    record = parse_bundle(
        bundle(
            request("r1", "active", "2024-01-01"),
            request("r3", "active", "2025-09-01"),
            request("r2", "active", "2025-01-01"),
        ),
        now=NOW,
    )
    ((latest, older),) = current_medications(record, NOW)
    assert latest.ref == "MedicationRequest/r3"
    assert older == ("MedicationRequest/r1", "MedicationRequest/r2")


def test_no_known_medications_is_not_a_medication() -> None:
    # HL7 IPS absent-unknown code, as ips-nz-no-known-required.json writes it
    absent = res(
        "MedicationStatement",
        "none",
        status="unknown",
        subject=SUBJECT,
        medicationCodeableConcept={
            "coding": [
                {
                    "system": "http://hl7.org/fhir/uv/ips/CodeSystem/absent-unknown-uv-ips",
                    "code": "no-known-medication",
                }
            ]
        },
    )
    assert current(absent) == []


def test_contained_and_referenced_medication_resources_with_ingredients() -> None:
    contained = request(
        "c",
        "active",
        medicationCodeableConcept=None,
        medicationReference={"reference": "#m"},
        contained=[
            {
                "resourceType": "Medication",
                "id": "m",
                "code": {"text": "Tazocin 4.5 g"},
                "ingredient": [
                    {"itemCodeableConcept": {"text": "piperacillin"}},
                    {"itemCodeableConcept": {"text": "tazobactam"}},
                ],
            }
        ],
    )
    contained["resource"].pop("medicationCodeableConcept")
    referenced = res(
        "MedicationStatement",
        "s",
        status="active",
        subject=SUBJECT,
        medicationReference={"reference": "Medication/karvea"},
    )
    karvea = res(
        "Medication",
        "karvea",
        code={"coding": [{"system": ATC, "code": "C09DA04"}], "text": "Karvea"},
        ingredient=[{"itemCodeableConcept": {"text": "irbesartan"}, "isActive": True}],
    )
    record = parse_bundle(bundle(contained, referenced, karvea), now=NOW)
    tazocin, statement_ = record.medications
    assert [i.text for i in tazocin.ingredients] == ["piperacillin", "tazobactam"]
    assert tazocin.name == "Tazocin 4.5 g"
    assert statement_.name == "Karvea"
    assert statement_.ingredients[0].active is True
    assert not statement_.unknown_code  # ATC is a known medication code
