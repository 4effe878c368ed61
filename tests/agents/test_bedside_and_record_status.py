"""NEWS2 from what the record charts (oxygen, ACVPU), vital signs as NEWS2 parameters, and what
the ward must know about the record first: deceased, stale, implausible age, unreadable parts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from agents.context import OPEN, patient_context
from agents.record_status import deceased_line, phrased, record_status_findings
from agents.scores import news2_finding
from agents.synthesizer import ranked
from core.domain import Coding, Finding, Observation, Patient, PatientRecord, Severity
from tests.agents.test_scores import T0, obs, record, vitals
from tools.fhir import parse_bundle
from tools.labs.findings import lab_findings

EXTERNAL = Path(__file__).parents[1] / "data" / "fhir-external"
NOW = datetime(2026, 12, 6, tzinfo=UTC)


def charted(ref: str, loinc: str, display: str, text: str = "", **kw: object) -> Observation:
    return Observation(
        ref=ref, loinc=loinc, display=display, value_text=text, effective=T0,
        codings=(Coding(system="http://loinc.org", code=loinc),), **kw,  # type: ignore[arg-type]
    )  # fmt: skip


# --- NEWS2 --------------------------------------------------------------------------------


def test_inspired_oxygen_of_21_percent_is_air_not_oxygen() -> None:
    air = charted("Observation/fio2", "3150-0", "Inhaled oxygen concentration", value=21, unit="%")
    n = news2_finding(record(*vitals(18, 130, 80), air))
    assert n is not None
    # RR 18 (0) + SpO2 96 (0) + air (0) + SBP 130 (0) + HR 100 (1) + T 37.0 (0) = 1
    assert n.summary.startswith("NEWS2 1")
    assert "air from the record: Inhaled oxygen concentration 21 %" in n.summary


def test_a_flow_rate_or_a_device_is_oxygen() -> None:
    flow = charted("Observation/flow", "3151-8", "Inhaled oxygen flow rate", value=2, unit="L/min")
    n = news2_finding(record(*vitals(18, 130, 80), flow))
    assert n is not None
    assert n.summary.startswith("NEWS2 3")  # + 2 for supplemental oxygen
    assert "Observation/flow" in {c.ref for c in n.citations}
    device = charted("Observation/dev", "", "Oxygen delivery device", "Nasal cannula")
    with_device = news2_finding(record(*vitals(18, 130, 80), device))
    assert with_device is not None
    assert with_device.summary.startswith("NEWS2 3")
    room_air = charted("Observation/ra", "", "Oxygen delivery device", "Room air")
    on_air = news2_finding(record(*vitals(18, 130, 80), room_air))
    assert on_air is not None
    assert on_air.summary.startswith("NEWS2 1")


def test_acvpu_is_read_as_charted() -> None:
    voice = charted("Observation/avpu", "67775-7", "Level of responsiveness", "Verbal")
    n = news2_finding(record(*vitals(18, 130, 80), voice))
    assert n is not None
    assert n.summary.startswith("NEWS2 4")  # 1 + 3 for responding only to voice
    assert "consciousness from the record: ACVPU Verbal" in n.summary
    alert = charted("Observation/avpu", "67775-7", "Level of responsiveness", "Alert")
    a = news2_finding(record(*vitals(18, 130, 80), alert, obs("9269-2", 13, "{score}")))
    assert a is not None
    assert a.summary.startswith("NEWS2 1")  # the charted ACVPU, not a GCS-derived guess


def test_vital_signs_are_shown_as_news2_parameters_not_reference_ranges() -> None:
    findings = lab_findings(record(*vitals(18, 105, 80)))
    (sbp,) = [f for f in findings if f.kind == "lab_flag" and "8480-6" in f.labs]
    assert sbp.summary == "Systolic blood pressure 105 mmHg is low [L]: NEWS2 1 of 3"
    assert "reference" not in sbp.summary


# --- the record itself --------------------------------------------------------------------


def test_a_deceased_synthea_patient_is_said_first() -> None:
    record_ = parse_bundle(EXTERNAL / "synthea3-jimmy-ankunding.json", now=NOW)
    assert record_.patient.deceased
    findings = record_status_findings(record_, NOW)
    lab = Finding(id="x", kind="lab_flag", severity=Severity.critical, summary="K 7.1")
    first = ranked([lab, *findings])[0]
    assert first.kind == "deceased"
    assert first.summary.startswith("This patient is recorded as deceased on 2011-10-09")
    assert deceased_line(record_).startswith("This patient is recorded as deceased on 2011-10-09")
    context = patient_context(record_, NOW)
    after_open = context.split(OPEN, 1)[1].strip().splitlines()[0]
    assert after_open.startswith("DECEASED:")


def test_a_record_years_old_is_stale() -> None:
    record_ = parse_bundle(EXTERNAL / "synthea21-asa-hermiston.json", now=NOW)
    (stale,) = [f for f in record_status_findings(record_, NOW) if f.kind == "stale"]
    assert stale.summary.startswith("The record's latest entry is from 2020-06-10, 6 years ago")
    assert "NICE NG5" in stale.source


def test_old_results_and_prescriptions_in_a_current_record_are_named() -> None:
    fresh = obs("2823-3", 4.1, "mmol/L", NOW - timedelta(days=1))
    old = obs("2160-0", 1.0, "mg/dL", NOW - timedelta(days=800), n=1)
    findings = record_status_findings(record(fresh, old), NOW)
    (results,) = [f for f in findings if f.id == "stale_results"]
    assert [c.ref for c in results.citations] == [old.ref]


def test_an_implausible_age_is_a_data_issue() -> None:
    bundle = {
        "resourceType": "Bundle", "type": "collection",
        "entry": [{"resource": {"resourceType": "Patient", "id": "p", "birthDate": "1850-01-01"}}],
    }  # fmt: skip
    parsed = parse_bundle(bundle, now=NOW)
    (issue,) = parsed.data_issues
    assert (issue.kind, issue.path) == ("implausible_age", "Patient.birthDate")
    (finding,) = record_status_findings(parsed, NOW)
    assert "implausible age" in finding.summary
    assert "Patient.birthDate" in finding.summary


def test_an_unreadable_resource_is_named_in_the_answer_and_the_rest_runs() -> None:
    bundle = {
        "resourceType": "Bundle", "type": "collection",
        "entry": [
            {"resource": {"resourceType": "Patient", "id": "p"}},
            {"resource": {"resourceType": "Observation", "id": "bad", "status": "final",
                          "code": {"text": "K"}, "valueQuantity": {"value": "high"}}},
            {"resource": {"resourceType": "Observation", "id": "k", "status": "final",
                          "code": {"coding": [{"system": "http://loinc.org", "code": "2823-3"}]},
                          "valueQuantity": {"value": 6.9, "unit": "mmol/L"},
                          "effectiveDateTime": "2026-12-05T08:00:00Z"}},
        ],
    }  # fmt: skip
    parsed = parse_bundle(bundle, now=NOW)
    assert [o.ref for o in parsed.observations] == ["Observation/k"]
    issues = [f for f in record_status_findings(parsed, NOW) if f.id == "data_issue:unreadable"]
    assert len(issues) == 1
    assert "Bundle.entry[1].resource.valueQuantity.value" in issues[0].summary
    assert [f.kind for f in lab_findings(parsed)] == ["lab_flag"]  # the potassium still flags


def test_patient_record_is_unchanged_for_a_living_patient() -> None:
    p = Patient(ref="Patient/p", id="p")
    assert deceased_line(PatientRecord(patient=p)) == ""


# --- the same in Traditional Chinese --------------------------------------------------------


def test_the_record_status_is_said_in_chinese_for_a_chinese_answer() -> None:
    """Every summary this module writes has its Chinese frame; names from the record stay."""
    dead = parse_bundle(EXTERNAL / "synthea3-jimmy-ankunding.json", now=NOW)
    (deceased,) = [f for f in record_status_findings(dead, NOW) if f.kind == "deceased"]
    assert (
        phrased(deceased, "zh-TW")
        == "本病人記錄為已於 2011-10-09 死亡。採取任何處置前請先核對病歷。"
    )
    assert phrased(deceased, "en") == deceased.summary
    assert (
        deceased_line(dead, "zh-TW") == f"本病人記錄為已於 2011-10-09 死亡 [{dead.patient.ref}]。"
    )
    undated = Patient(ref="Patient/p", id="p", deceased=True)
    (no_day,) = record_status_findings(PatientRecord(patient=undated), NOW)
    assert phrased(no_day, "zh-TW") == "本病人記錄為已死亡。採取任何處置前請先核對病歷。"
    assert (
        deceased_line(PatientRecord(patient=undated), "zh-TW") == "本病人記錄為已死亡 [Patient/p]。"
    )

    old = parse_bundle(EXTERNAL / "synthea21-asa-hermiston.json", now=NOW)
    (stale,) = [f for f in record_status_findings(old, NOW) if f.kind == "stale"]
    assert phrased(stale, "zh-TW") == (
        "病歷最新一筆資料為 2020-06-10（6 年前）：所有檢驗結果與處方皆已過時"
    )
    recent = record(obs("2823-3", 4.1, "mmol/L", NOW - timedelta(days=400)))
    (days,) = [f for f in record_status_findings(recent, NOW) if f.kind == "stale"]
    assert phrased(days, "zh-TW").endswith("（400 天前）：所有檢驗結果與處方皆已過時")

    fresh = obs("2823-3", 4.1, "mmol/L", NOW - timedelta(days=1))
    older = obs("2160-0", 1.0, "mg/dL", NOW - timedelta(days=800), n=1)
    (results,) = [
        f for f in record_status_findings(record(fresh, older), NOW) if f.id == "stale_results"
    ]
    assert phrased(results, "zh-TW") == f"最新檢驗結果已超過一年：{older.display}"


def test_data_issues_are_framed_in_chinese_with_the_readers_words_kept() -> None:
    entries = [{"resource": {"resourceType": "Patient", "id": "p"}}]
    entries += [
        {"resource": {"resourceType": "Observation", "id": f"bad{i}", "status": "final",
                      "code": {"text": "K"}, "valueQuantity": {"value": "high"}}}
        for i in range(7)
    ]  # fmt: skip
    parsed = parse_bundle({"resourceType": "Bundle", "type": "collection", "entry": entries})
    (issue,) = [f for f in record_status_findings(parsed, NOW) if f.kind == "data_quality"]
    zh = phrased(issue, "zh-TW")
    assert zh.startswith("資料問題：無法讀取（7）：")
    assert zh.endswith("；另有 2 項")
    assert "Bundle.entry[1].resource.valueQuantity.value" in zh  # the FHIR path as written
    assert "Data issue" not in zh
