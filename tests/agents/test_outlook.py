"""The Outlook: validated prognoses and labelled trajectories from the record and the findings,
each with the KG-backed actions on the same facts; nothing without its source."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from agents.outlook import outlook, outlook_text
from core.domain import (
    Citation,
    Coding,
    Encounter,
    Finding,
    Medication,
    Observation,
    Patient,
    PatientRecord,
    Problem,
    Severity,
)
from graphs.events import OutlookReady
from graphs.result import result_from_state
from server.sse import sse_event
from tools.calculators.liver import MeldNaInput, meld_na
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


def inpatient(rec: PatientRecord, status: str = "in-progress") -> PatientRecord:
    return rec.model_copy(
        update={"encounters": (Encounter(ref="Encounter/e", status=status, start=T0),)}
    )


def test_meld_na_three_month_mortality_where_cirrhosis_is_coded() -> None:
    rec = record(
        problem("Condition/cirrhosis", "K74.60"),
        ob("Observation/bili", "1975-2", 3.0, "mg/dL"),
        ob("Observation/inr", "6301-6", 1.8, "{INR}"),
        ob("Observation/na", "2951-2", 130, "mmol/L"),
        ob("Observation/cr", "2160-0", 1.5, "mg/dL"),
    )  # fmt: skip
    [item] = [i for i in outlook(rec, []) if i.id == "meld_3_month_mortality"]
    expected = meld_na(MeldNaInput(creatinine=1.5, bilirubin=3.0, inr=1.8, sodium=130))
    assert 20 <= expected.value <= 29  # the band this record falls in
    assert item.applied
    assert item.probability == pytest.approx(0.196)  # Wiesner 2003: MELD 20-29, 19.6%
    assert f"MELD-Na {expected.value:g} (band 20-29)" in item.statement
    assert "bands are for MELD" in item.statement
    assert {"Condition/cirrhosis", "Observation/inr", "Observation/na"} <= {
        c.ref for c in item.citations
    }
    assert "UNOS" in item.cohort


def test_meld_na_says_what_is_missing_and_needs_liver_disease() -> None:
    labs = (ob("Observation/bili", "1975-2", 3.0, "mg/dL"), ob("Observation/cr", "2160-0", 1.5,
            "mg/dL"))  # fmt: skip
    [item] = [i for i in outlook(record(problem("Condition/c", "K70.30"), *labs), [])
              if i.id == "meld_3_month_mortality"]  # fmt: skip
    assert not item.applied
    assert item.probability is None
    assert item.missing == ("inr", "sodium")
    assert not [i for i in outlook(record(*labs), []) if i.id == "meld_3_month_mortality"]


def test_padua_for_a_medical_inpatient_with_prophylaxis_and_what_is_not_coded() -> None:
    rec = inpatient(
        record(
            problem("Condition/hf", "I50.9"),
            problem("Condition/cap", "J18.9"),
            problem("Condition/ca", "C34.90"),
            born=1950,
        )
    )
    enox = Medication(ref="MedicationRequest/enox", name="enoxaparin 40 mg", status="active")
    rec = rec.model_copy(update={"medications": (enox,)})
    [item] = [i for i in outlook(rec, []) if i.id == "padua_vte_risk"]
    # HAND (Barbar 2010 Table 1): cancer 3 + heart failure 1 + infection 1 + age >= 70 1 = 6
    assert item.applied
    assert item.statement.startswith("Padua 6 (high risk): 11.0% VTE within 90 days")
    assert "thromboprophylaxis is recorded" in item.statement
    assert item.missing == ("reduced mobility", "recent trauma or surgery")
    assert "MedicationRequest/enox" in {c.ref for c in item.citations}


def test_padua_refused_for_a_surgical_patient_and_absent_for_an_outpatient() -> None:
    surgical = inpatient(record(problem("Condition/hip", "Z96.641"), born=1950))
    [item] = [i for i in outlook(surgical, []) if i.id == "padua_vte_risk"]
    assert not item.applied
    assert item.probability is None
    assert "surgical patient" in item.statement
    outpatient = inpatient(record(problem("Condition/hf", "I50.9")), status="finished")
    assert not [i for i in outlook(outpatient, []) if i.id == "padua_vte_risk"]


def test_news2_gives_the_response_and_discrimination_never_a_probability() -> None:
    news = calc_finding("news2", "news2 = 7 {score} high", "Observation/rr")
    [item] = [i for i in outlook(record(), [news]) if i.id == "news2_deterioration"]
    assert item.probability is None
    assert "emergency response" in item.statement
    assert "AUROC 0.894" in item.statement
    assert "35 585 acute medical admissions" in item.cohort
    assert "Observation/rr" in {c.ref for c in item.citations}
    low = calc_finding("news2", "news2 = 2 {score} low", "Observation/rr")
    assert not [i for i in outlook(record(), [low]) if i.id == "news2_deterioration"]


def test_outlook_frame_in_traditional_chinese() -> None:
    rec = inpatient(record(problem("Condition/hip", "Z96.641"), born=1950))
    items = outlook(rec, [])
    text = outlook_text(items, "zh-TW")
    assert text.startswith("展望（")
    assert "- [未套用] Padua VTE risk not applied" in text
    assert outlook_text(items).startswith("Outlook (")


def test_the_outlook_event_carries_the_chinese_frame() -> None:
    items = outlook(inpatient(record(problem("Condition/hip", "Z96.641"), born=1950)), [])
    event = sse_event(OutlookReady(items, "zh-TW"))
    assert event.event == "outlook"
    assert event.data["heading"].startswith("展望（")
    assert event.data["labels"] == {"action": "處置", "not_applied": "未套用"}
    assert [i["id"] for i in event.data["outlook"]] == [i.id for i in items]


def test_padua_says_an_oral_anticoagulant_apart_from_prophylaxis() -> None:
    warfarin = Medication(ref="MedicationRequest/w", name="warfarin 3 mg", status="active")
    rec = inpatient(record(problem("Condition/hf", "I50.9"), born=1950))
    [item] = [
        i
        for i in outlook(rec.model_copy(update={"medications": (warfarin,)}), [])
        if i.id == "padua_vte_risk"
    ]
    assert "thromboprophylaxis is recorded" not in item.statement
    assert "an oral anticoagulant is recorded (warfarin 3 mg)" in item.statement
    assert "MedicationRequest/w" in {c.ref for c in item.citations}
