"""Conditions and allergies coded the way other systems code them: SNOMED CT, status, "no known".

Records are the third-party bundles in tests/data/fhir-external (see its SOURCES.json) and
hand-made facts; the map rows are checked against the ICD-10-CM release wardround loads.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from core.domain import Allergy, Coding, Observation, Patient, PatientRecord, Problem
from core.errors import DataFileError
from kg.open_data import icd_description
from tools.fhir import parse_bundle
from tools.fhir.codes import SNOMED, is_valid_snomed
from tools.resolve.allergies import (
    active_allergens,
    allergy_table,
    resolve_allergies,
    resolve_allergy,
)
from tools.resolve.conditions import (
    ABSENT_UNKNOWN,
    condition_map,
    current_condition_codes,
    load_condition_map,
    resolve_condition,
)
from tools.resolve.pregnancy import pregnancy_evidence

EXTERNAL = Path(__file__).parents[1] / "data" / "fhir-external"
NOW = datetime(2026, 12, 6, tzinfo=UTC)


def snomed(code: str, display: str = "") -> tuple[Coding, ...]:
    return (Coding(system=SNOMED, code=code, display=display),)


def problem(code: str, **kw: object) -> Problem:
    return Problem(ref=f"Condition/{code}", display=code, codings=snomed(code), **kw)  # type: ignore[arg-type]


# --- the condition map ----------------------------------------------------------------------


def test_every_mapped_icd10cm_code_exists_with_the_title_recorded() -> None:
    rows = condition_map().values()
    assert len(rows) >= 50
    for row in rows:
        assert is_valid_snomed(row.snomed), row
        assert icd_description(row.icd10cm) == row.title, row  # None when not in ICD-10-CM
        assert "SNOMED" in row.source


def test_pregnancy_rows_are_pregnancy_codes() -> None:
    pregnancy = [r for r in condition_map().values() if r.pregnancy]
    assert {r.snomed for r in pregnancy} >= {"77386006", "398254007"}
    assert all(r.icd10cm.startswith(("O", "Z33", "Z34")) for r in pregnancy)


def test_a_row_with_an_unknown_source_refuses_to_load(tmp_path: Path) -> None:
    bad = tmp_path / "c.yaml"
    bad.write_text(
        "sources: {a: 'x'}\nconditions:\n"
        "  - {snomed: '38341003', term: t, icd10cm: I10, title: t, source: b}\n"
    )
    with pytest.raises(DataFileError, match="unknown source"):
        load_condition_map(bad)


# --- resolving conditions -------------------------------------------------------------------


def test_snomed_hypertension_reaches_the_icd10cm_condition() -> None:
    r = resolve_condition(problem("38341003", clinical_status="active"))
    assert (r.outcome, r.icd10cm) == ("resolved", ("I10",))
    assert "SNOMED CT 38341003" in r.how


@pytest.mark.parametrize(
    ("clinical", "verification"),
    [("resolved", ""), ("inactive", ""), ("remission", ""), ("active", "refuted"),
     ("active", "entered-in-error")],
)  # fmt: skip
def test_a_condition_that_does_not_hold_now_is_not_checked(
    clinical: str, verification: str
) -> None:
    p = problem("42343007", clinical_status=clinical, verification_status=verification)
    assert resolve_condition(p).outcome == "not_current"
    assert current_condition_codes([p]) == {}


def test_no_known_problems_is_not_a_condition() -> None:
    p = Problem(
        ref="Condition/n", display="No known problems",
        codings=(Coding(system=ABSENT_UNKNOWN, code="no-known-problems"),),
    )  # fmt: skip
    assert resolve_condition(p).outcome == "no_known"


def test_synthea_conditions_resolve_and_resolved_ones_are_history() -> None:
    record = parse_bundle(EXTERNAL / "synthea21-eura-treutel.json", now=NOW)
    codes = current_condition_codes(record.problems)
    # atrial fibrillation, Alzheimer's disease, anaemia: coded in SNOMED CT only
    assert {"I48.91", "G30.9", "D64.9"} <= set(codes)
    resolved = [p for p in record.problems if p.clinical_status == "resolved"]
    assert len(resolved) == 5  # viral sinusitis, pharyngitis, a tendon injury: history
    assert not {p.ref for p in resolved} & set(codes.values())


# --- pregnancy ------------------------------------------------------------------------------


def woman(
    *, problems: tuple[Problem, ...] = (), obs: tuple[Observation, ...] = ()
) -> PatientRecord:
    patient = Patient(ref="Patient/w", id="w", sex="female", birth_date=date(1994, 5, 1))
    return PatientRecord(patient=patient, problems=problems, observations=obs)


def test_pre_eclampsia_in_snomed_says_pregnant() -> None:
    pre_eclampsia = problem("398254007", clinical_status="active", onset=NOW)
    evidence = pregnancy_evidence(woman(problems=(pre_eclampsia,)), NOW)
    assert [c.ref for c in evidence] == ["Condition/398254007"]


def test_a_pregnancy_status_observation_says_pregnant_and_an_old_one_does_not() -> None:
    status = Observation(
        ref="Observation/ps", loinc="82810-3", display="Pregnancy status", value_text="Pregnant",
        codings=(Coding(system="http://loinc.org", code="82810-3"),), effective=NOW,
    )  # fmt: skip
    assert [c.ref for c in pregnancy_evidence(woman(obs=(status,)), NOW)] == ["Observation/ps"]
    old = status.model_copy(update={"effective": datetime(2023, 1, 1, tzinfo=UTC)})
    assert pregnancy_evidence(woman(obs=(old,)), NOW) == []
    negative = status.model_copy(update={"value_text": "Not pregnant"})
    assert pregnancy_evidence(woman(obs=(negative,)), NOW) == []


# --- allergies ------------------------------------------------------------------------------


def test_ips_no_known_allergies_is_not_an_allergy() -> None:
    record = parse_bundle(EXTERNAL / "ips-nz-no-known-required.json", now=NOW)
    (entry,) = record.allergies
    assert resolve_allergy(entry).outcome == "no_known"
    assert active_allergens(record.allergies) == {}


def test_no_allergy_information_is_not_an_allergy() -> None:
    record = parse_bundle(EXTERNAL / "ips-nz-peter-jordan-labs.json", now=NOW)
    assert [r.outcome for r in resolve_allergies(record.allergies)] == ["no_known"]


@pytest.mark.parametrize("code", ["716186003", "409137002"])
def test_snomed_no_known_allergy_codes(code: str) -> None:
    a = Allergy(ref="AllergyIntolerance/n", substance="No known allergy", codings=snomed(code))
    assert resolve_allergy(a).outcome == "no_known"


@pytest.mark.parametrize(
    ("clinical", "verification"), [("inactive", ""), ("resolved", ""), ("active", "refuted")]
)
def test_an_allergy_that_no_longer_holds_is_not_active(clinical: str, verification: str) -> None:
    a = Allergy(
        ref="AllergyIntolerance/p", substance="Penicillin", codings=snomed("764146007"),
        clinical_status=clinical, verification_status=verification,
    )  # fmt: skip
    assert resolve_allergy(a).outcome == "not_current"
    assert active_allergens([a]) == {}


def test_a_snomed_substance_code_is_read_and_shown_by_name() -> None:
    a = Allergy(ref="AllergyIntolerance/p", substance="373270004", codings=snomed("373270004"))
    assert active_allergens([a]) == {"penicillin": "AllergyIntolerance/p"}
    assert allergy_table().allergens["373270004"].reads_as == "penicillin"


def test_a_bare_substance_code_in_a_bundle_is_shown_by_name() -> None:
    bundle = {
        "resourceType": "Bundle", "type": "collection",
        "entry": [
            {"resource": {"resourceType": "Patient", "id": "p"}},
            {"resource": {
                "resourceType": "AllergyIntolerance", "id": "a",
                "patient": {"reference": "Patient/p"},
                "code": {"coding": [{"system": SNOMED, "code": "373270004"}]},
            }},
        ],
    }  # fmt: skip
    (allergy,) = parse_bundle(bundle, now=NOW).allergies
    assert allergy.substance.startswith("Penicillin")
