"""Every calculator whose inputs are coded, computed from the record (issue 18, item 2): GCS from
its total or components, SOFA where it matters (with its missing inputs named), SIRS, MAP,
corrected calcium and the anion gap; on hand-made records, carebundle output, a third-party
Synthea bundle and the shipped scenarios."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from agents.rules import lab_rule_findings
from agents.scores import coded_gcs, mentation, record_calculation_findings, sofa_finding
from core.domain import (
    Coding,
    Finding,
    Medication,
    Observation,
    Patient,
    PatientRecord,
    Problem,
    Severity,
)
from core.settings import SHIPPED_DATA
from tools.fhir.sources import DirectoryPatientSource

T0 = datetime(2025, 12, 1, 3, 10, tzinfo=UTC)
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
EXTERNAL = Path(__file__).parents[1] / "data" / "fhir-external"


def obs(loinc: str, value: float, unit: str, at: datetime = T0, n: int = 0) -> Observation:
    return Observation(
        ref=f"Observation/{loinc}-{n}", loinc=loinc, display=loinc, value=value, unit=unit,
        effective=at,
    )  # fmt: skip


def record(*items: Observation | Problem | Medication) -> PatientRecord:
    return PatientRecord(
        patient=Patient(ref="Patient/p", id="p", sex="male", birth_date=date(1950, 1, 1)),
        problems=tuple(i for i in items if isinstance(i, Problem)),
        observations=tuple(i for i in items if isinstance(i, Observation)),
        medications=tuple(i for i in items if isinstance(i, Medication)),
    )


def pneumonia() -> Problem:
    return Problem(
        ref="Condition/cap", display="pneumonia", codings=(Coding(system=ICD, code="J18.9"),),
        clinical_status="active",
    )  # fmt: skip


def by_id(findings: list[Finding]) -> dict[str, Finding]:
    return {f.id: f for f in findings}


GCS_PARTS = (("9267-6", 3), ("9270-0", 4), ("9268-4", 5))  # eye 3, verbal 4, motor 5


def test_gcs_from_its_three_components() -> None:
    rec = record(*(obs(code, value, "{score}") for code, value in GCS_PARTS))
    [gcs] = coded_gcs(rec)
    assert (gcs.total, gcs.parts) == (12, {"eye": 3, "verbal": 4, "motor": 5})  # HAND 3+4+5
    finding = by_id(record_calculation_findings(rec))["glasgow_coma_scale"]
    assert finding.summary.startswith("GCS 12 (E3 V4 M5)")
    assert finding.severity is Severity.moderate  # 9-12
    assert {c.ref for c in finding.citations} >= {f"Observation/{c}-0" for c, _ in GCS_PARTS}


def test_components_count_as_mentation_for_the_bedside_scores() -> None:
    rec = record(*(obs(code, value, "{score}") for code, value in GCS_PARTS))
    known = mentation(rec, T0 + timedelta(hours=1))
    assert known is not None
    assert known.confused
    assert known.evidence == "GCS 12"


def test_a_charted_total_wins_over_components_at_the_same_moment() -> None:
    rec = record(obs("9269-2", 15, "{score}"), *(obs(c, v, "{score}") for c, v in GCS_PARTS))
    assert [g.total for g in coded_gcs(rec)] == [15]


def complete_sofa(*extra: Observation | Problem | Medication) -> PatientRecord:
    return record(
        obs("2703-7", 80, "mm[Hg]"), obs("3150-0", 40, "%"),  # P/F 200: 2 (no support: cap 2)
        obs("777-3", 90, "10*3/uL"),  # < 100: 2
        obs("1975-2", 2.5, "mg/dL"),  # 2.0-5.9: 2
        obs("8480-6", 90, "mm[Hg]"), obs("8462-4", 50, "mm[Hg]"),  # MAP 63 < 70: 1
        obs("9269-2", 11, "{score}"),  # 10-12: 2
        obs("2160-0", 2.4, "mg/dL"),  # 2.0-3.4: 2
        *extra,
    )  # fmt: skip


def test_sofa_with_every_input_coded() -> None:
    # HAND (Vincent 1996, Table 1): 2 + 2 + 2 + 1 + 2 + 2 = 11
    finding = sofa_finding(complete_sofa(pneumonia()))
    assert finding is not None
    assert finding.summary.startswith("SOFA 11 (a lower bound): respiration 2, coagulation 2")
    assert "respiratory support not coded" in finding.summary
    assert finding.severity is Severity.high
    assert "Condition/cap" in {c.ref for c in finding.citations}


def test_sofa_complete_is_computed_without_infection_too() -> None:
    finding = sofa_finding(complete_sofa())
    assert finding is not None
    assert finding.summary.startswith("SOFA 11")
    assert finding.severity is Severity.moderate


def test_sofa_vasopressor_dose_not_coded_is_said() -> None:
    norad = Medication(ref="MedicationRequest/nor", name="noradrenaline infusion", status="active")
    finding = sofa_finding(complete_sofa(pneumonia(), norad))
    assert finding is not None
    # HAND: any noradrenaline: cardiovascular 3 (dose <= 0.1): 11 - 1 + 3 = 13
    assert finding.summary.startswith("SOFA 13")
    assert "noradrenaline dose not coded" in finding.summary
    assert "MedicationRequest/nor" in {c.ref for c in finding.citations}


def test_sofa_with_missing_inputs_names_them_and_is_a_lower_bound() -> None:
    rec = record(
        pneumonia(), obs("777-3", 40, "10*3/uL"), obs("2160-0", 3.6, "mg/dL"),
        obs("8480-6", 100, "mm[Hg]"), obs("8462-4", 60, "mm[Hg]"),
    )  # fmt: skip
    finding = sofa_finding(rec)
    assert finding is not None
    # HAND: platelets < 50: 3, creatinine 3.5-4.9: 3, MAP 73: 0; the rest scored normal
    assert finding.summary.startswith("SOFA 6 (a lower bound)")
    assert "PaO2/FiO2" in finding.summary
    assert "bilirubin (1975-2)" in finding.summary
    assert "Glasgow coma score" in finding.summary


def test_sofa_not_stated_when_two_systems_or_fewer_are_coded() -> None:
    finding = sofa_finding(record(pneumonia(), obs("777-3", 40, "10*3/uL")))
    assert finding is not None
    assert finding.summary.startswith("SOFA not computed: ")
    assert finding.severity is Severity.info


def test_no_sofa_without_infection_when_inputs_are_missing() -> None:
    assert sofa_finding(record(obs("777-3", 40, "10*3/uL"), obs("2160-0", 3.6, "mg/dL"))) is None


def test_room_air_is_imputed_and_said() -> None:
    rec = complete_sofa(pneumonia())
    rec = rec.model_copy(
        update={"observations": tuple(o for o in rec.observations if o.loinc != "3150-0")}
    )
    finding = sofa_finding(rec)
    assert finding is not None
    assert "FiO2 0.21 (no oxygen charted near the blood gas)" in finding.summary
    assert "respiration 1" in finding.summary  # HAND: 80 / 0.21 = 381 (< 400: 1)


async def test_carebundle_patient_anion_gap_from_total_co2_and_corrected_calcium() -> None:
    rec = await DirectoryPatientSource(SHIPPED_DATA / "patients").load("cb-t2dm-01")
    found = by_id(lab_rule_findings(rec, datetime(2025, 6, 3, tzinfo=UTC)))
    summary = found["computed_from_record"].summary
    # HAND: Na 143 - (Cl 106 + total CO2 26) = 11 mmol/L; calcium 8.9 mg/dL + 0.8 x (4.0 - 3.8)
    # = 9.06 mg/dL = 2.26 mmol/L (Payne 1973); MAP and SIRS from the charted vitals
    assert "anion gap 11 mmol/L" in summary
    assert "corrected calcium 2.26 mmol/L" in summary
    assert "MAP " in summary
    assert "SIRS " in summary
    assert "sofa" not in found  # no infection, PaO2 and GCS not coded


async def test_third_party_synthea_bundle_low_corrected_calcium() -> None:
    rec = await DirectoryPatientSource(EXTERNAL).load("synthea21-eura-treutel")
    finding = by_id(record_calculation_findings(rec))["corrected_calcium"]
    pairs: dict[datetime, dict[str, Observation]] = {}
    for o in rec.observations:
        if o.loinc in ("17861-6", "1751-7") and o.effective and o.value is not None:
            pairs.setdefault(o.effective, {})[o.loinc] = o
    at = max(t for t, p in pairs.items() if len(p) == 2)
    calcium, albumin = pairs[at]["17861-6"], pairs[at]["1751-7"]
    assert (calcium.unit, albumin.unit) == ("mg/dL", "g/dL")
    assert calcium.value is not None
    assert albumin.value is not None
    # HAND: Payne 1973 in conventional units, mg/dL -> mmol/L by 4.008 (CIAAW 2021 calcium)
    adjusted = (calcium.value + 0.8 * (4.0 - albumin.value)) / 4.008
    assert f"albumin-adjusted calcium {adjusted:.2f} mmol/L (low" in finding.summary
    assert {calcium.ref, albumin.ref} <= {c.ref for c in finding.citations}


async def test_shipped_sepsis_pneumonia_gets_gcs_and_a_sofa_lower_bound() -> None:
    rec = await DirectoryPatientSource(SHIPPED_DATA / "patients").load("sepsis-pneumonia")
    found = by_id(record_calculation_findings(rec))
    assert found["glasgow_coma_scale"].summary == "GCS 14 as charted: mild (13-15)"
    sofa = found["sofa"]
    assert sofa.summary.startswith("SOFA ")
    assert "(a lower bound)" in sofa.summary
    assert "not coded, scored as normal: PaO2/FiO2" in sofa.summary
    assert sofa.severity is Severity.high
    assert found["sirs"].summary.startswith("4 of 4 SIRS criteria")


@pytest.mark.parametrize("patient", ["ips-eu-giorgio-cangioli", "ips-nl-curavista-dutch"])
async def test_records_without_the_inputs_compute_nothing(patient: str) -> None:
    rec = await DirectoryPatientSource(EXTERNAL).load(patient)
    assert record_calculation_findings(rec) == []
