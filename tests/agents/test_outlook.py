"""The Outlook: validated prognoses and labelled trajectories from the record and the findings,
each with the KG-backed actions on the same facts; nothing without its source."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from agents.outlook import outlook, outlook_text
from core.domain import (
    Citation,
    Coding,
    Finding,
    Observation,
    Patient,
    PatientRecord,
    Problem,
    Severity,
)
from graphs.result import result_from_state
from tools.prognosis import KfreInput, kfre

T0 = datetime(2025, 3, 1, 6, tzinfo=UTC)
ICD = "http://hl7.org/fhir/sid/icd-10-cm"


def problem(ref: str, code: str) -> Problem:
    return Problem(
        ref=ref, display=code, codings=(Coding(system=ICD, code=code),), clinical_status="active"
    )


def ob(ref: str, loinc: str, value: float, unit: str, hours: float = 0) -> Observation:
    return Observation(
        ref=ref, loinc=loinc, display=loinc, value=value, unit=unit,
        effective=T0 + timedelta(hours=hours),
    )  # fmt: skip


def record(*items: Problem | Observation, sex: str = "female", born: int = 1955) -> PatientRecord:
    return PatientRecord(
        patient=Patient(ref="Patient/p", id="p", sex=sex, birth_date=date(born, 1, 1)),
        problems=tuple(i for i in items if isinstance(i, Problem)),
        observations=tuple(i for i in items if isinstance(i, Observation)),
    )


def calc_finding(fid: str, label: str, *refs: str) -> Finding:
    return Finding(
        id=fid, kind="score", severity=Severity.moderate, summary=label,
        citations=(*(Citation.fhir(r) for r in refs), Citation(kind="calc", ref=f"calc:{fid}",
                                                               label=label)),
    )  # fmt: skip


def test_af_gives_the_published_annual_stroke_rate() -> None:
    # HAND: woman of 70 (age 1, sex 1) with hypertension (1) and diabetes (1): CHA2DS2-VASc 4,
    # adjusted stroke rate 4.0%/year (Lip 2010)
    rec = record(
        problem("Condition/af", "I48.91"), problem("Condition/htn", "I10"),
        problem("Condition/dm", "E11.9"), ob("Observation/k", "2823-3", 4.5, "mmol/L"),
    )  # fmt: skip
    [item] = [i for i in outlook(rec, []) if i.id == "cha2ds2_vasc_stroke_rate"]
    assert item.probability == pytest.approx(0.040)
    assert "CHA2DS2-VASc 4" in item.statement
    assert {"Condition/af", "Condition/htn", "Condition/dm"} <= {c.ref for c in item.citations}
    assert "Euro Heart Survey" in item.cohort


def test_kfre_from_the_egfr_finding_and_the_acr() -> None:
    rec = record(
        problem("Condition/ckd", "N18.3"), ob("Observation/acr", "14959-1", 30, "mg/mmol"),
        born=1955, sex="male",
    )  # fmt: skip
    egfr = calc_finding(
        "egfr_ckd_epi_2021", "egfr_ckd_epi_2021 = 42 mL/min/{1.73_m2} G3b", "Observation/cr"
    )
    [item] = [i for i in outlook(rec, [egfr]) if i.id == "kfre_4_variable"]
    expected = kfre(KfreInput(age=70, sex="male", egfr=42, acr=30, acr_unit="mg/mmol"), 5)
    assert item.applied
    assert item.probability == pytest.approx(expected.probability)
    assert "within 2 years" in item.statement
    assert "within 5 years" in item.statement
    assert {"Observation/cr", "Observation/acr"} <= {c.ref for c in item.citations}


def test_kfre_says_the_missing_acr() -> None:
    rec = record(
        problem("Condition/ckd", "N18.3"), ob("Observation/k", "2823-3", 4.5, "mmol/L"), sex="male"
    )
    egfr = calc_finding("egfr_ckd_epi_2021", "egfr_ckd_epi_2021 = 42 mL/min/{1.73_m2} G3b")
    [item] = [i for i in outlook(rec, [egfr]) if i.id == "kfre_4_variable"]
    assert not item.applied
    assert item.probability is None
    assert item.missing == ("urine albumin-creatinine ratio",)


def test_no_kfre_for_a_low_egfr_without_ckd() -> None:
    rec = record(ob("Observation/acr", "9318-7", 300, "mg/g"), sex="male")
    egfr = calc_finding("egfr_ckd_epi_2021", "egfr_ckd_epi_2021 = 35 mL/min/{1.73_m2} G3b")
    assert not [i for i in outlook(rec, [egfr]) if i.id.startswith("kfre")]


def test_kfre_is_not_applied_on_dialysis() -> None:
    rec = record(
        problem("Condition/esrd", "N18.6"), ob("Observation/acr", "9318-7", 300, "mg/g"), sex="male"
    )
    egfr = calc_finding("egfr_ckd_epi_2021", "egfr_ckd_epi_2021 = 8 mL/min/{1.73_m2} G5")
    [item] = [i for i in outlook(rec, [egfr]) if i.id.startswith("kfre")]
    assert not item.applied
    assert "dialysis" in item.statement


def test_has_bled_rate_with_the_kg_action_on_the_same_order() -> None:
    rec = record(ob("Observation/k", "2823-3", 4.5, "mmol/L"))
    bled = calc_finding(
        "has_bled", "has_bled = 3 {score} high", "Condition/af", "MedicationRequest/naproxen"
    )
    interaction = Finding(
        id="interaction:x", kind="interaction", severity=Severity.high,
        summary="apixaban + naproxen: bleeding risk; paracetamol is the alternative",
        citations=(Citation(kind="kg", ref="kg:Interaction/x"),
                   Citation.fhir("MedicationRequest/naproxen")),
    )  # fmt: skip
    unrelated = Finding(
        id="interaction:y", kind="interaction", severity=Severity.high, summary="other",
        citations=(Citation(kind="kg", ref="kg:Interaction/y"), Citation.fhir("Other/1")),
    )  # fmt: skip
    [item] = [i for i in outlook(rec, [bled, interaction, unrelated]) if "has_bled" in i.id]
    assert item.probability == pytest.approx(0.0374)
    assert item.actions == (
        "apixaban + naproxen: bleeding risk; paracetamol is the alternative [kg:Interaction/x]",
    )


def test_trajectories_join_the_outlook_and_the_answer() -> None:
    rec = record(*(ob(f"Observation/k{i}", "2823-3", v, "mmol/L", i * 24)
                   for i, v in enumerate((5.0, 5.3, 5.6))))  # fmt: skip
    items = outlook(rec, [])
    [traj] = [i for i in items if i.kind == "trajectory"]
    assert "would be reached in about 32 h" in traj.statement
    text = outlook_text(items)
    assert text.startswith("Outlook")
    assert traj.statement in text


def test_the_result_carries_the_outlook_beside_the_answer() -> None:
    rec = record(*(ob(f"Observation/k{i}", "2823-3", v, "mmol/L", i * 24)
                   for i, v in enumerate((5.0, 5.3, 5.6))))  # fmt: skip
    state = {"patient_id": "p", "question": "q", "answer": "Answer.", "record":
             rec.model_dump(mode="json")}  # fmt: skip
    meta = {"run_id": "r", "thread_id": "t", "timings": {}, "tokens": {},
            "model": {"base_url": None, "name": None}}  # fmt: skip
    result = result_from_state(state, **meta)
    assert result.outlook
    assert result.answer == "Answer."  # the checkpointed answer, unchanged: no prompt sees it
    assert result.outlook_text().startswith("Outlook")
    bare = result_from_state({"patient_id": "p", "question": "q", "answer": "A."}, **meta)
    assert bare.outlook == []
    assert bare.outlook_text() == ""
