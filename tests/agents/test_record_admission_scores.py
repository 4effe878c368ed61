"""APACHE II and PSI/PORT from the record (issue 18, item 2), and SOFA's respiratory support and
urine output: each score equals its calculator given the same inputs by hand, inputs that are not
coded are named and make the score a lower bound; on hand-made records, the shipped
sepsis-pneumonia scenario, a carebundle patient and a third-party Synthea bundle."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from agents.scores import (
    apache_ii_finding,
    psi_finding,
    record_calculation_findings,
    respiratory_support,
    sofa_finding,
)
from core.domain import Coding, Finding, Observation, Patient, PatientRecord, Problem, Severity
from core.settings import SHIPPED_DATA
from tools.calculators.admission import (
    ApacheIiInput,
    PsiInput,
    apache_ii,
    pneumonia_severity_index,
)
from tools.fhir.sources import DirectoryPatientSource

T0 = datetime(2025, 12, 1, 3, 10, tzinfo=UTC)
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED = "http://snomed.info/sct"
EXTERNAL = Path(__file__).parents[1] / "data" / "fhir-external"


def obs(loinc: str, value: float, unit: str, at: datetime = T0, text: str = "") -> Observation:
    return Observation(
        ref=f"Observation/{loinc}-{at:%H%M}", loinc=loinc, display=loinc, value=value, unit=unit,
        effective=at, value_text=text,
    )  # fmt: skip


def problem(code: str, system: str = ICD, ref: str = "Condition/c") -> Problem:
    return Problem(
        ref=ref, display=code, codings=(Coding(system=system, code=code),),
        clinical_status="active",
    )  # fmt: skip


def record(*items: Observation | Problem, sex: str = "male") -> PatientRecord:
    return PatientRecord(
        patient=Patient(ref="Patient/p", id="p", sex=sex, birth_date=date(1950, 1, 1)),
        problems=tuple(i for i in items if isinstance(i, Problem)),
        observations=tuple(i for i in items if isinstance(i, Observation)),
    )


def by_id(findings: list[Finding]) -> dict[str, Finding]:
    return {f.id: f for f in findings}


def with_problem(rec: PatientRecord, added: Problem) -> PatientRecord:
    return rec.model_copy(update={"problems": (*rec.problems, added)})


def sepsis_vitals(at: datetime = T0) -> tuple[Observation, ...]:
    """qSOFA 2 (RR 24, SBP 95) and the rest of APACHE II's vital signs."""
    return (
        obs("9279-1", 24, "/min", at), obs("8480-6", 95, "mm[Hg]", at),
        obs("8462-4", 50, "mm[Hg]", at), obs("8867-4", 125, "/min", at),
        obs("8310-5", 39.5, "Cel", at),
    )  # fmt: skip


ABG = (
    obs("2703-7", 70, "mm[Hg]"), obs("2019-8", 40, "mm[Hg]"), obs("3150-0", 60, "%"),
    obs("2744-1", 7.21, "[pH]"), obs("2951-2", 128, "mmol/L"), obs("2823-3", 3.2, "mmol/L"),
    obs("2160-0", 2.1, "mg/dL"), obs("4544-3", 28, "%"), obs("6690-2", 22, "10*9/L"),
    obs("9269-2", 11, "{score}"),
)  # fmt: skip


def test_apache_ii_with_every_variable_coded_equals_the_calculator() -> None:
    rec = record(*sepsis_vitals(), *ABG)
    finding = apache_ii_finding(rec)
    assert finding is not None
    # HAND (Knaus 1985, Figure 1): T 39.5: 3; MAP (95 + 100) / 3 = 65: 2; HR 125: 2; RR 24: 0;
    # FiO2 0.6: A-a = 0.6 x 713 - 40 / 0.8 - 70 = 307.8: 2; pH 7.21: 3; Na 128: 2; K 3.2: 1;
    # creatinine 2.1: 3; Hct 28: 2; WBC 22: 2; GCS 11: 4; age 75: 6 -> 32
    by_hand = apache_ii(
        ApacheIiInput(
            age=75, temperature=39.5, systolic_bp=95, diastolic_bp=50, heart_rate=125,
            respiration_rate=24, fio2=0.6, pao2_mmhg=70, paco2_mmhg=40, arterial_ph=7.21,
            sodium=128, potassium=3.2, creatinine=2.1, haematocrit=28, wbc=22, gcs=11,
        )
    )  # fmt: skip
    assert by_hand.value == 32
    assert finding.summary.startswith("APACHE II 32: temperature 3, mean_arterial_pressure 2")
    assert "(a lower bound)" not in finding.summary
    assert "computed for ICU-level signs: qSOFA >= 2" in finding.summary
    assert "Observation/2019-8-0310" in {c.ref for c in finding.citations}


def test_apache_ii_takes_the_worst_value_of_24_h_and_names_what_is_missing() -> None:
    later = T0 + timedelta(hours=6)
    rec = record(
        *sepsis_vitals(), obs("8867-4", 90, "/min", later), obs("8310-5", 37.0, "Cel", later),
        obs("2951-2", 138, "mmol/L"), obs("2823-3", 4.0, "mmol/L"),
        obs("14682-9", 180, "umol/L"), obs("6690-2", 9, "10*9/L"),
    )  # fmt: skip
    finding = apache_ii_finding(rec)
    assert finding is not None
    # HAND: T 39.5 (worse than the later 37.0): 3; MAP 65: 2; HR 125 (not 90): 2; RR 24: 0;
    # creatinine 180 umol/L = 2.04 mg/dL: 3; Na, K, WBC: 0; age 75: 6; PaO2, pH, Hct, GCS
    # not coded: 0 -> 16, a lower bound
    assert finding.summary.startswith("APACHE II 16 (a lower bound)")
    for name in ("arterial pH (2744-1)", "haematocrit (4544-3)", "PaO2 (2703-7)", "Glasgow coma"):
        assert name in finding.summary


def test_apache_ii_needs_icu_level_signs() -> None:
    calm = (
        obs("9279-1", 16, "/min"), obs("8480-6", 130, "mm[Hg]"), obs("8462-4", 80, "mm[Hg]"),
        obs("8867-4", 80, "/min"), obs("8310-5", 37.0, "Cel"),
    )  # fmt: skip
    assert apache_ii_finding(record(*calm, *ABG[4:])) is None
    # infection with SOFA >= 2 is the third way in (Sepsis-3's sepsis)
    septic = apache_ii_finding(record(*calm, *ABG[4:], problem("A41.9")), sofa_value=2)
    assert septic is not None
    assert "infection with SOFA >= 2" in septic.summary


def test_apache_ii_from_news2_of_7() -> None:
    # NEWS2 (RCP 2017): RR 26: 2, SpO2 90: 3, SBP 105: 1, HR 115: 2, alert, T 38.5: 1 -> 9; qSOFA 1
    news = (
        obs("9279-1", 26, "/min"), obs("59408-5", 90, "%"), obs("8480-6", 105, "mm[Hg]"),
        obs("8462-4", 70, "mm[Hg]"), obs("8867-4", 115, "/min"), obs("8310-5", 38.5, "Cel"),
        obs("9269-2", 15, "{score}"),
    )  # fmt: skip
    finding = apache_ii_finding(record(*news, *ABG[4:9]))
    assert finding is not None
    assert "NEWS2 >= 7 (RCP 2017)" in finding.summary


def test_chronic_health_from_coded_cirrhosis_and_acute_renal_failure() -> None:
    rec = record(
        *sepsis_vitals(), *ABG, problem("K74.60", ref="Condition/cirrhosis"),
        problem("N17.9", ref="Condition/aki"),
    )  # fmt: skip
    finding = apache_ii_finding(rec)
    assert finding is not None
    # HAND: 32 + chronic health 5 (non-operative) + creatinine doubled (3 -> 6) = 40
    assert finding.summary.startswith("APACHE II 40: ")
    assert "chronic health: severe liver disease coded" in finding.summary
    assert {"Condition/cirrhosis", "Condition/aki"} <= {c.ref for c in finding.citations}


def test_psi_from_coded_pneumonia_equals_the_calculator() -> None:
    rec = record(
        *sepsis_vitals(), *ABG[:9], obs("3094-0", 35, "mg/dL"), obs("2345-7", 260, "mg/dL"),
        problem("J18.9"), problem("I50.9", ref="Condition/hf"),
        problem("Z59.3", ref="Condition/home"), obs("9269-2", 15, "{score}"), sex="female",
    )  # fmt: skip
    finding = psi_finding(rec)
    assert finding is not None
    by_hand = pneumonia_severity_index(
        PsiInput(
            age=75, sex="female", nursing_home_resident=True, heart_failure=True,
            neoplastic_disease=False, liver_disease=False, cerebrovascular_disease=False,
            renal_disease=False, altered_mental_status=False, pleural_effusion=False,
            respiration_rate=24, systolic_bp=95, temperature=39.5, pulse=125, arterial_ph=7.21,
            urea=35, urea_unit="mg/dL", sodium=128, glucose=260, haematocrit=28, pao2_mmhg=70,
        )
    )  # fmt: skip
    # HAND (Fine 1997, Table 2): 75 - 10 + home 10 + HF 10 + pulse 10 + pH 30 + BUN 20 + Na 20
    # + glucose 10 + Hct 10; PaO2 70 (>= 60): 0 -> 185 (class V)
    assert (by_hand.value, by_hand.category) == (185, "class V")
    assert finding.summary.startswith("PSI 185, risk class V: ")
    assert finding.severity is Severity.high


def test_psi_via_snomed_pneumonia_and_unread_nursing_home_is_a_lower_bound() -> None:
    labs = (
        obs("2951-2", 138, "mmol/L"), obs("3094-0", 15, "mg/dL"), obs("2345-7", 120, "mg/dL"),
        obs("59408-5", 95, "%"),
    )  # fmt: skip
    rec = record(*sepsis_vitals(), *labs, problem("233604007", system=SNOMED))
    finding = psi_finding(rec)
    assert finding is not None
    # HAND: age 75 + pulse 125: 10; SBP 95, RR 24, T 39.5, the labs: 0 -> 85 (class III)
    assert finding.summary.startswith("PSI 85 (a lower bound), risk class III")
    assert "nursing-home residence (rarely coded; +10 if so)" in finding.summary
    assert "mental status (GCS or new confusion)" in finding.summary
    assert finding.severity is Severity.moderate
    # with fewer than 5 of its 11 variables coded, PSI is not stated
    bare = psi_finding(record(*sepsis_vitals()[:2], problem("J18.9")))
    assert bare is not None
    assert bare.summary.startswith("PSI not computed: ")


def test_no_psi_without_pneumonia() -> None:
    assert psi_finding(record(*sepsis_vitals(), problem("A41.9"))) is None


async def test_sepsis_pneumonia_scenario() -> None:
    rec = await DirectoryPatientSource(SHIPPED_DATA / "patients").load("sepsis-pneumonia")
    found = by_id(record_calculation_findings(rec))
    # The record as shipped: woman born 1944-05-30 (81); worst of 24 h around 09:00 on 1 Dec:
    # T 38.9, BP 88/50, HR 118, RR 26, Na 137, K 4.1, creatinine 124 umol/L, WBC 18.2, GCS 14;
    # no blood gas or haematocrit (scored normal, named)
    apache = apache_ii(
        ApacheIiInput(
            age=81, temperature=38.9, systolic_bp=88, diastolic_bp=50, heart_rate=118,
            respiration_rate=26, fio2=0.21, pao2_mmhg=90, arterial_ph=7.4, sodium=137,
            potassium=4.1, creatinine=124, creatinine_unit="umol/L", haematocrit=40, wbc=18.2,
            gcs=14,
        )
    )  # fmt: skip
    assert apache.value == 14  # HAND: T 1, MAP 62.7: 2, HR 2, RR 1, WBC 1, GCS 1, age 6
    assert found["apache_ii"].summary.startswith(f"APACHE II {apache.value:g} (a lower bound)")
    assert "arterial pH (2744-1), haematocrit (4544-3), PaO2 (2703-7)" in found["apache_ii"].summary
    # PSI: disorientation coded that morning, urea 11.2 mmol/L, glucose 11.4 mmol/L, SpO2 89
    psi = pneumonia_severity_index(
        PsiInput(
            age=81, sex="female", altered_mental_status=True, respiration_rate=26,
            systolic_bp=88, temperature=38.9, pulse=118, urea=11.2, urea_unit="mmol/L",
            sodium=137, glucose=11.4, glucose_unit="mmol/L", spo2=89,
        )
    )  # fmt: skip
    # HAND: 81 - 10 + confusion 20 + SBP 20 + urea (>= 10.7 mmol/L) 20 + SpO2 < 90: 10 = 141
    assert (psi.value, psi.category) == (141, "class V")
    assert found["pneumonia_severity_index"].summary.startswith(
        "PSI 141 (a lower bound), risk class V"
    )
    assert "Condition/" in " ".join(c.ref for c in found["pneumonia_severity_index"].citations)


async def test_carebundle_patient() -> None:
    rec = await DirectoryPatientSource(SHIPPED_DATA / "patients").load("cb-t2dm-01")
    found = by_id(record_calculation_findings(rec))
    assert "apache_ii" not in found  # no ICU-level sign
    assert "pneumonia_severity_index" not in found  # no pneumonia
    rec = with_problem(rec, problem("233604007", system=SNOMED, ref="Condition/cap"))
    psi = psi_finding(rec)
    assert psi is not None
    by_hand = pneumonia_severity_index(
        PsiInput(
            age=46, sex="female", respiration_rate=11, systolic_bp=133, temperature=37.4,
            pulse=67, urea=13, urea_unit="mg/dL", sodium=143, glucose=159, haematocrit=43.3,
            spo2=95,
        )
    )  # fmt: skip
    # HAND: a woman of 46 with no comorbidity and a normal examination: step 1, class I
    assert (by_hand.value, by_hand.category) == (36, "class I")
    assert psi.summary.startswith("PSI 36 (a lower bound), risk class I")
    apache = apache_ii_finding(rec, sofa_value=2)  # as if infection with SOFA 2
    assert apache is not None
    by_hand = apache_ii(
        ApacheIiInput(
            age=46, temperature=37.4, systolic_bp=133, diastolic_bp=76, heart_rate=67,
            respiration_rate=11, fio2=0.21, pao2_mmhg=90, arterial_ph=7.4, sodium=143,
            potassium=4.3, creatinine=0.77, haematocrit=43.3, wbc=2.9, wbc_unit="10*3/uL",
            gcs=15,
        )
    )  # fmt: skip
    assert by_hand.value == 7  # HAND: HR 67: 2, RR 11: 1, WBC 2.9: 2, age 46: 2
    assert apache.summary.startswith("APACHE II 7 (a lower bound)")


async def test_third_party_synthea_bundle() -> None:
    rec = await DirectoryPatientSource(EXTERNAL).load("synthea21-marcos-delagarza")
    # Its epinephrine auto-injector is no vasopressor infusion: SOFA cardiovascular 0
    rec = with_problem(rec, problem("233604007", system=SNOMED, ref="Condition/cap"))
    sofa = sofa_finding(rec)
    assert sofa is not None
    assert "cardiovascular 0" in sofa.summary
    psi = psi_finding(rec)
    assert psi is not None
    at = max(o.effective for o in rec.observations if o.loinc == "8480-6" and o.effective)
    near = {
        o.loinc: o.value
        for o in rec.observations
        if o.effective and abs(o.effective - at) <= timedelta(hours=24) and o.value is not None
    }
    assert rec.patient.birth_date is not None
    by_hand = pneumonia_severity_index(
        PsiInput(
            age=rec.patient.age_on(at.date()), sex="male", respiration_rate=16,
            systolic_bp=near["8480-6"], temperature=37, pulse=80, urea=near["3094-0"],
            urea_unit="mg/dL", sodium=near["2951-2"], glucose=near["2339-0"],
            haematocrit=near.get("4544-3"),
        )
    )  # fmt: skip
    assert psi.summary.startswith(f"PSI {by_hand.value:g} (a lower bound), {by_hand.category}"[:-7])
    assert f"risk {by_hand.category}" in psi.summary
    assert "respiratory rate (9279-1)" in psi.summary  # Synthea 2.1 charts no RR here


def sofa_record(*extra: Observation) -> PatientRecord:
    return record(
        problem("J18.9"), obs("2703-7", 60, "mm[Hg]"), obs("3150-0", 40, "%"),  # P/F 150
        obs("777-3", 200, "10*9/L"), obs("1975-2", 0.8, "mg/dL"), obs("8480-6", 120, "mm[Hg]"),
        obs("8462-4", 80, "mm[Hg]"), obs("9269-2", 15, "{score}"), obs("2160-0", 1.0, "mg/dL"),
        *extra,
    )  # fmt: skip


def test_sofa_reads_mechanical_ventilation() -> None:
    without = sofa_finding(sofa_record())
    assert without is not None
    assert without.summary.startswith("SOFA 2 (a lower bound): respiration 2")  # capped at 2
    mode = Observation(
        ref="Observation/vent", loinc="20124-5", display="Ventilation mode Ventilator",
        value_text="SIMV", effective=T0,
    )  # fmt: skip
    ventilated = sofa_finding(sofa_record(mode))
    assert ventilated is not None
    # HAND (Vincent 1996): P/F 150 (< 200) with respiratory support: 3; the rest 0
    assert ventilated.summary.startswith("SOFA 3: respiration 3")
    assert "respiratory support from the record: Ventilation mode Ventilator SIMV" in (
        ventilated.summary
    )
    assert "Observation/vent" in {c.ref for c in ventilated.citations}


def test_low_flow_oxygen_is_not_respiratory_support_but_cpap_is() -> None:
    flow = obs("3151-8", 2, "L/min")
    assert respiratory_support(record(flow), T0) is None
    cpap = Observation(
        ref="Observation/dev", loinc="", display="Oxygen delivery device", value_text="CPAP",
        effective=T0,
    )  # fmt: skip
    support = respiratory_support(record(cpap), T0)
    assert support is not None
    assert support.evidence == "Oxygen delivery device CPAP"


def test_sofa_reads_urine_output_of_24_h() -> None:
    for volume, renal in ((450, 3), (150, 4), (1500, 0)):
        finding = sofa_finding(sofa_record(obs("9192-6", volume, "mL")))
        assert finding is not None
        # HAND (Vincent 1996): urine < 500 mL/day: 3, < 200: 4; creatinine 1.0: 0
        assert f"renal {renal}" in finding.summary
        assert f"urine output {volume} mL/24 h from the record" in finding.summary
    # 9187-6 without a per-day unit is no daily total
    assert "urine output" not in str(sofa_finding(sofa_record(obs("9187-6", 150, "mL"))))


def test_ventilated_without_a_coded_fio2_is_not_taken_as_air() -> None:
    mode = Observation(
        ref="Observation/vent", loinc="20124-5", display="Ventilation mode Ventilator",
        value_text="PRVC", effective=T0,
    )  # fmt: skip
    rec = sofa_record(mode)
    rec = rec.model_copy(
        update={"observations": tuple(o for o in rec.observations if o.loinc != "3150-0")}
    )
    sofa = sofa_finding(rec)
    assert sofa is not None
    assert (
        "FiO2 (3150-0; oxygen or respiratory support charted, its concentration not)"
        in sofa.summary
    )
    assert "FiO2 0.21" not in sofa.summary
    apache = apache_ii_finding(record(*sepsis_vitals(), *ABG[:2], *ABG[3:], mode))
    assert apache is not None
    assert "FiO2 (3150-0) on respiratory support" in apache.summary
    assert "oxygenation" not in apache.summary.split(";")[0]  # scored normal, named
