"""Lab results coded the way other systems code them: LOINC aliases, text ranges, the lab's flag.

The third-party bundles in tests/data/fhir-external (Synthea and IPS documents nobody on this
project wrote; see its SOURCES.json) are the records; the codes and names checked here are the
published ones cited in data/resolve/loinc_analytes.yaml.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from agents.rules import aki_finding, egfr_finding
from core.domain import Coding, Observation, Patient
from core.errors import DataFileError
from tools.fhir import parse_bundle
from tools.fhir.codes import LOINC
from tools.labs.findings import lab_findings
from tools.labs.flags import LAB_FLAG_SOURCE, LAB_RANGE_SOURCE, flag_observation, lab_flags
from tools.resolve.labs import analytes, load_analytes, range_from_text, resolve_result

EXTERNAL = Path(__file__).parents[1] / "data" / "fhir-external"
NOW = datetime(2026, 12, 6, tzinfo=UTC)


def loinc(code: str) -> tuple[Coding, ...]:
    return (Coding(system=LOINC, code=code),)


# --- the alias table ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "published"),
    [
        # HL7 FHIR value set "Serum Creatinine Lab Tests" (cqframework dqm-content-cms-2026)
        ("38483-4", "Creatinine [Mass/volume] in Blood"),
        ("21232-4", "Creatinine [Mass/volume] in Arterial blood"),
        # HL7 FHIR Clinical Guidelines STU1 ckd-valueset-creatinine
        ("77140-2", "Creatinine [Moles/volume] in Serum, Plasma or Blood"),
        # HL7 PDDI-CDS valueset-potassium-LOINC
        ("6298-4", "Potassium [Moles/volume] in Blood"),
        # OHDSI phenotype "Reduced eGFR"
        (
            "62238-1",
            "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, Plasma "
            "or Blood by Creatinine-based formula (CKD-EPI)",
        ),
    ],
)
def test_aliases_carry_their_published_loinc_names(code: str, published: str) -> None:
    entry = analytes()[code]
    (alias,) = [a for a in entry.aliases if a.loinc == code]
    assert alias.name == published
    assert "LOINC" in alias.source


# The LOINC component (the first part of the Long Common Name) of every alias of each analyte.
COMPONENT = {
    "creatinine": "Creatinine [", "egfr": "Glomerular filtration rate/1.73 sq M.predicted",
    "urea_nitrogen": "Urea nitrogen [", "potassium": "Potassium [", "sodium": "Sodium [",
    "chloride": "Chloride [", "total_co2": "Carbon dioxide, total [", "calcium": "Calcium [",
    "haemoglobin": "Hemoglobin [", "haematocrit": "Hematocrit [", "white_cells": "Leukocytes [",
    "platelets": "Platelets [", "red_cells": "Erythrocytes [", "mcv": "MCV [", "mch": "MCH [",
    "neutrophils": "Neutrophils [", "lymphocytes": "Lymphocytes [", "monocytes": "Monocytes [",
    "eosinophils": "Eosinophils [", "basophils": "Basophils [", "inr": "INR in ",
    "alt": "Alanine aminotransferase [", "ast": "Aspartate aminotransferase [",
    "bilirubin": "Bilirubin.total [", "albumin": "Albumin [", "glucose": "Glucose [",
    "lactate": "Lactate [", "hba1c": "Hemoglobin A1c/Hemoglobin.total",
    "crp": "C reactive protein [",
    "ldl_cholesterol": "Cholesterol in LDL [", "spo2": "Oxygen saturation in ",
    "body_temperature": "temperature", "heart_rate": "Heart rate",
}  # fmt: skip


def test_every_alias_is_a_code_for_the_analyte_it_counts_for() -> None:
    entries = {e.analyte: e for e in analytes().values()}
    assert set(entries) == set(COMPONENT)
    for name, entry in entries.items():
        for alias in entry.aliases:
            assert COMPONENT[name].lower() in alias.name.lower(), alias


def test_a_code_listed_twice_refuses_to_load(tmp_path: Path) -> None:
    bad = tmp_path / "a.yaml"
    bad.write_text(
        "sources: {loinc: 'LOINC 2.80'}\n"
        "analytes:\n"
        "  - {analyte: a, codes: [{loinc: '2160-0', unit: mg/dL}], aliases: []}\n"
        "  - {analyte: b, codes: [{loinc: '2160-0', unit: mg/dL}], aliases: []}\n"
    )
    with pytest.raises(DataFileError, match="listed twice"):
        load_analytes(bad)


def test_a_code_with_a_bad_check_digit_refuses_to_load(tmp_path: Path) -> None:
    bad = tmp_path / "a.yaml"
    bad.write_text(
        "sources: {loinc: 'LOINC 2.80'}\n"
        "analytes:\n"
        "  - {analyte: a, codes: [{loinc: '2160-1', unit: mg/dL}], aliases: []}\n"
    )
    with pytest.raises(DataFileError, match="check digit"):
        load_analytes(bad)


# --- resolving one result -------------------------------------------------------------------


def test_whole_blood_creatinine_counts_as_serum_creatinine_in_its_unit_family() -> None:
    mass = resolve_result(loinc("38483-4"), "mg/dL")
    moles = resolve_result(loinc("59826-8"), "umol/L")
    assert mass is not None
    assert moles is not None
    assert (mass.loinc, mass.reported_loinc, mass.analyte) == ("2160-0", "38483-4", "creatinine")
    assert (moles.loinc, moles.reported_loinc) == ("14682-9", "59826-8")


def test_a_code_with_its_own_range_is_not_recoded() -> None:
    own = resolve_result(loinc("2339-0"), "mg/dL")  # glucose in blood: its own shipped range
    canonical = resolve_result(loinc("14682-9"), "umol/L")
    assert own is None or own.reported_loinc == ""
    assert canonical is not None
    assert canonical.loinc == "14682-9"


def test_egfr_in_ml_per_min_is_read_per_body_surface() -> None:
    r = resolve_result(loinc("33914-3"), "mL/min")
    assert r is not None
    assert (r.unit, r.reported_unit) == ("mL/min/{1.73_m2}", "mL/min")
    spelled = resolve_result(loinc("62238-1"), "mL/min/1.73m2")
    assert spelled is not None
    assert spelled.unit == "mL/min/{1.73_m2}"
    assert spelled.loinc == "33914-3"


@pytest.mark.parametrize(
    ("text", "bounds"),
    [
        ("0-220", (0, 220)),
        ("3.5 - 5.2", (3.5, 5.2)),
        ("0.40-0.52", (0.40, 0.52)),
        ("<5", (None, 5)),
        ("<10.0", (None, 10.0)),
        (">60", (60, None)),
        ("NA", None),
        ("Negative", None),
        ("10-5", None),
    ],
)
def test_laboratory_ranges_written_as_text(
    text: str, bounds: tuple[float | None, float | None] | None
) -> None:
    assert range_from_text(text) == bounds


# --- the laboratory's own range and flag ----------------------------------------------------


def test_peter_jordan_labs_are_flagged_against_the_laboratorys_text_ranges() -> None:
    record = parse_bundle(EXTERNAL / "ips-nz-peter-jordan-labs.json", now=NOW)
    flags = {f.ref: f for f in lab_flags(record)}
    urate = [f for f in flags.values() if f.name.startswith("Urate") and f.value == 0.47]
    (high,) = urate
    assert high.flag == "H"
    assert (high.low, high.high) == (0.23, 0.42)
    assert high.source == f"{LAB_RANGE_SOURCE}: 0.23-0.42"
    esr = [f for f in flags.values() if "ESR" in f.name and f.value == 22]
    assert [f.flag for f in esr] == ["H"]  # uncoded: only the laboratory's range can say so
    lymphocytes = [f for f in flags.values() if f.name.startswith("Lymph") and f.value == 0.9]
    assert [f.flag for f in lymphocytes] == ["L"]
    assert all(f.lab_flag in ("", f.flag) for f in flags.values() if f.flag in ("H", "L"))


def test_the_laboratorys_flag_is_used_when_no_range_is_known() -> None:
    patient = Patient(ref="Patient/p", id="p", sex="male", birth_date=date(1960, 1, 1))
    obs = Observation(
        ref="Observation/x", loinc="", display="Local test", value=3.0, unit="U",
        lab_interpretation="H", unknown_code=True,
    )  # fmt: skip
    flag = flag_observation(obs, patient.sex, 60)
    assert (flag.flag, flag.source) == ("H", LAB_FLAG_SOURCE)


# --- what resolution feeds ------------------------------------------------------------------


def test_synthea_whole_blood_creatinine_feeds_egfr_and_aki() -> None:
    record = parse_bundle(EXTERNAL / "synthea21-josue-sipes.json", now=NOW)
    creatinine = [o for o in record.observations if o.reported_loinc == "38483-4"]
    assert creatinine
    assert {o.loinc for o in creatinine} == {"2160-0"}
    egfr = egfr_finding(record, NOW)
    assert egfr is not None
    assert egfr.citations[0].ref in {o.ref for o in creatinine}
    aki = aki_finding(record)
    assert aki is not None
    assert aki.kind == "aki_stage"


def test_an_odd_unit_is_named_once_per_analyte_not_per_result() -> None:
    record = parse_bundle(EXTERNAL / "synthea21-josue-sipes.json", now=NOW)
    read_per_area = [o for o in record.observations if o.reported_unit == "mL/min"]
    assumed = [i for i in record.data_issues if i.kind == "unit_assumed"]
    assert len(read_per_area) > 1
    assert len(assumed) == 1
    assert "mL/min" in assumed[0].message
    assert assumed[0].path.endswith("valueQuantity.unit")


def test_total_protein_in_g_per_l_labelled_g_per_dl_is_verify_not_high() -> None:
    record = parse_bundle(EXTERNAL / "synthea21-eura-treutel.json", now=NOW)
    protein = [o for o in record.observations if o.loinc == "2885-2" and o.value]
    findings = lab_findings(record)
    assert not [f for f in findings if f.kind == "lab_flag" and "2885-2" in f.labs]
    (verify,) = [f for f in findings if f.kind == "data_quality" and "2885-2" in f.labs]
    assert verify.summary.startswith("Verify Total protein")
    assert "unit slip (x10)" in verify.summary
    assert {c.ref for c in verify.citations} == {o.ref for o in protein}


def test_of_two_egfr_results_at_one_moment_the_abnormal_one_stands() -> None:
    """Synthea reports eGFR twice at 2021-03-13 21:37 (37 in mL/min/1.73m2 and 82 in mL/min):
    the safety net reports the low one, not whichever came later in the bundle."""
    record = parse_bundle(EXTERNAL / "synthea21-josue-sipes.json", now=NOW)
    (egfr,) = [f for f in lab_findings(record) if f.kind == "lab_flag" and "33914-3" in f.labs]
    assert egfr.summary.startswith("eGFR (MDRD) 37.2 ")
    assert "[L]" in egfr.summary


def test_an_hba1c_below_the_analysers_reportable_range_is_verify_not_a_reading() -> None:
    """Synthea's HbA1c falls to 2.87 % in a man with diabetes on insulin: below the 3.5 %
    reportable range of an NGSP-certified analyser (Bio-Rad D-100), so a result to verify, with
    why; 4.2 % (low-normal) stays an ordinary result."""
    record = parse_bundle(EXTERNAL / "synthea21-josue-sipes.json", now=NOW)
    (verify,) = [f for f in lab_findings(record) if f.kind == "data_quality" and "4548-4" in f.labs]
    assert verify.summary.startswith("Verify HbA1c 2.87 %")
    assert "outside the reportable range of NGSP-certified HbA1c analysers" in verify.summary
    assert "Bio-Rad D-100" in verify.source
    ok = Observation(
        ref="Observation/a1c", display="HbA1c", loinc="4548-4", value=4.2, unit="%",
        effective=NOW,
    )  # fmt: skip
    assert flag_observation(ok, "male", 70).flag == "N"


def test_the_ifcc_hba1c_limits_are_the_ngsp_limits_by_the_master_equation() -> None:
    """NGSP % = 0.09148 x IFCC mmol/mol + 2.152 (Hoelzel W et al. Clin Chem 2004;50:166-74)."""
    from tools.labs.ranges import range_for

    ngsp, ifcc = range_for("4548-4"), range_for("59261-8")
    assert ngsp is not None
    assert ifcc is not None
    assert ngsp.plausible is not None
    assert ifcc.plausible is not None
    pairs = ((ifcc.plausible.low, ngsp.plausible.low), (ifcc.plausible.high, ngsp.plausible.high))
    for mmol, pct in pairs:
        assert mmol is not None
        assert pct is not None
        assert abs(0.09148 * mmol + 2.152 - pct) < 0.05
