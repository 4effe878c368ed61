"""The one conversion path (tools.units) against published SI conversion factors.

Published factors (conventional -> SI, multiply) are transcribed from the SI conversion tables of
JAMA's author instructions as reproduced by the Chung Shan Medical University table
(http://w3.csmu.edu.tw/~chr/Int_unit_conversion.htm) and by the Elephant Formulary table
"Conversion of Conventional Chemistry Units to SI Units" (Mikota & Plumb 2003-06,
http://www.elephantcare.org/convers.htm): bilirubin 17.1 (17.10), calcium 0.2495, magnesium
0.4114, phosphorus 0.3229, urea nitrogen 0.357, ethanol 0.217, cholesterol 0.0259, creatinine
88.4, glucose 0.05551, albumin 10, pCO2 and pO2 mmHg x 0.1333 = kPa. Our packaged factors are
derived from molar masses (CIAAW 2021 atomic weights) and the definition of the mmHg (NIST SP
811), so they are checked here against those independent published values.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from core.domain import Observation, Patient, PatientRecord
from core.errors import DataFileError
from tools.labs import units as labs_units
from tools.labs.flags import flag_observation, lab_flags
from tools.unit_factors import load_factors, molar_mass, packaged_factors
from tools.units import UnitMismatch, conversion_source, convert, normalise

PUBLISHED = "JAMA SI conversion table (csmu.edu.tw) / Elephant Formulary SI table"


@pytest.mark.parametrize(
    ("analyte", "loinc", "conventional", "si", "published_factor"),
    [
        ("bilirubin", "1975-2", "mg/dL", "umol/L", 17.1),
        ("calcium", "17861-6", "mg/dL", "mmol/L", 0.2495),
        ("magnesium", "19123-9", "mg/dL", "mmol/L", 0.4114),
        ("phosphorus", "2777-1", "mg/dL", "mmol/L", 0.3229),
        ("urea nitrogen", "3094-0", "mg/dL", "mmol/L", 0.357),
        ("ethanol", "5643-2", "mg/dL", "mmol/L", 0.217),
        ("cholesterol", "2093-3", "mg/dL", "mmol/L", 0.0259),
        ("HDL cholesterol", "2085-9", "mg/dL", "mmol/L", 0.0259),
        ("creatinine", "2160-0", "mg/dL", "umol/L", 88.4),
        ("glucose", "2345-7", "mg/dL", "mmol/L", 0.05551),
        ("albumin", "1751-7", "g/dL", "g/L", 10.0),
        ("pCO2", "2019-8", "mm[Hg]", "kPa", 0.1333),
        ("pO2", "2703-7", "mmHg", "kPa", 0.1333),
    ],
)
def test_factor_matches_published_si_table(
    analyte: str, loinc: str, conventional: str, si: str, published_factor: float
) -> None:
    # the published tables round to four significant figures
    assert convert(1.0, conventional, si, loinc) == pytest.approx(published_factor, rel=1.5e-3), (
        analyte,
        PUBLISHED,
    )
    assert convert(published_factor, si, conventional, loinc) == pytest.approx(1.0, rel=1.5e-3)


@pytest.mark.parametrize(
    ("value", "src", "dst", "loinc", "expected"),
    [
        # 1 kPa = 7.50062 mmHg (1 mmHg = 133.322387415 Pa, NIST SP 811 B.8)
        (1.0, "kPa", "mm[Hg]", "2019-8", 7.50062),
        (5.3, "kPa", "mmHg", "2019-8", 39.75),
        (12.0, "kPa", "mm Hg", "2703-7", 90.01),
        (40, "mmHg", "kPa", "2019-8", 5.333),
        (8000, "Pa", "kPa", "2019-8", 8.0),  # metric prefix only
        # bilirubin 17 umol/L is the usual UK upper reference limit = 0.994 mg/dL
        (17, "umol/L", "mg/dL", "1975-2", 0.9942),
        (1.2, "mg/dL", "umol/L", "14631-6", 20.52),
        # calcium 2.2-2.6 mmol/L (Pathology Harmony) = 8.8-10.4 mg/dL
        (2.2, "mmol/L", "mg/dL", "2000-8", 8.817),
        (10.4, "mg/dL", "mmol/L", "17861-6", 2.595),
        (1.0, "mmol/L", "mg/dL", "2601-3", 2.4305),  # magnesium: molar mass 24.305
        (0.8, "mmol/L", "mg/dL", "14879-1", 2.478),  # phosphate as phosphorus
        (28, "mg/dL", "mmol/L", "3094-0", 9.995),  # BUN -> urea (labunits 0.357)
        (3.5, "g/dL", "g/L", "1751-7", 35.0),
    ],
)
def test_conversions_through_the_one_path(
    value: float, src: str, dst: str, loinc: str, expected: float
) -> None:
    assert convert(value, src, dst, loinc) == pytest.approx(expected, rel=1e-3)


def test_packaged_factor_agrees_with_labunits_where_both_exist() -> None:
    # labunits carries magnesium (0.4114) and BUN (0.357); the molar-mass factors must agree.
    factors = packaged_factors()
    assert factors["19123-9"].factor == pytest.approx(0.4114, rel=1e-3)
    assert factors["3094-0"].factor == pytest.approx(0.357, rel=1e-3)


def test_molar_masses_from_ciaaw_atomic_weights() -> None:
    weights = {"H": 1.008, "C": 12.011, "N": 14.007, "O": 15.999}
    assert molar_mass({"C": 33, "H": 36, "N": 4, "O": 6}, weights) == pytest.approx(584.673)
    assert molar_mass({"C": 2, "H": 6, "O": 1}, weights) == pytest.approx(46.069)
    with pytest.raises(ValueError, match="Xx"):
        molar_mass({"Xx": 1}, weights)


def test_every_packaged_factor_is_sourced() -> None:
    for f in load_factors():
        assert "IUPAC" in f.source or "NIST" in f.source, f.analyte
        assert f.basis


def test_a_factor_with_an_unknown_source_refuses_to_load(tmp_path: Path) -> None:
    bad = tmp_path / "factors.yaml"
    bad.write_text(
        "sources: {a: 'x'}\natomic_weights: {Ca: 40.078}\n"
        "factors:\n  - {analyte: calcium, loincs: ['1'], traditional: mg/dL, si: mmol/L,"
        " formula: {Ca: 1}, source: nope}\n",
        encoding="utf-8",
    )
    with pytest.raises(DataFileError, match="source 'nope'"):
        load_factors(bad)


def test_a_factor_needs_a_derivation(tmp_path: Path) -> None:
    bad = tmp_path / "factors.yaml"
    bad.write_text(
        "sources: {a: 'x'}\natomic_weights: {Ca: 40.078}\n"
        "factors:\n  - {analyte: calcium, loincs: ['1'], traditional: mg/dL, si: mmol/L,"
        " factor: 0.25, source: a}\n",
        encoding="utf-8",
    )
    with pytest.raises(DataFileError, match="formula"):
        load_factors(bad)


def test_conversion_source_names_the_factor() -> None:
    assert conversion_source("umol/L", "mg/dL", "2160-0") == "labunits LOINC 2160-0: / 88.4"
    assert conversion_source("kPa", "mm[Hg]", "2019-8") == "1 mm[Hg] = 133.322387415 Pa: / 0.1333"
    assert conversion_source("mg/dL", "mmol/L", "17861-6") == ("molar mass 40.078 g/mol: x 0.2495")


def test_still_no_guessing() -> None:
    with pytest.raises(UnitMismatch):
        convert(5.0, "kPa", "mmol/L", "2019-8")  # a pressure is not a concentration
    with pytest.raises(UnitMismatch):
        convert(5.0, "kPa", "mm[Hg]", "2823-3")  # no pressure factor for potassium


def test_spellings_are_normalised() -> None:
    assert normalise("mmHg") == normalise("mm Hg") == "mm[Hg]"
    assert normalise("µmol/l") == "umol/L"


def test_labs_compat_module_is_the_same_path() -> None:
    # agents/kg_checks.py imports tools.labs.units.convert: it must be this very function.
    assert labs_units.convert is convert
    assert labs_units.UnitMismatch is UnitMismatch


def _obs(ref: str, loinc: str, value: float, unit: str) -> Observation:
    return Observation(
        ref=ref,
        loinc=loinc,
        display=loinc,
        value=value,
        unit=unit,
        effective=datetime(2026, 1, 1, 6, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("loinc", "value", "unit", "flag"),
    [
        ("2019-8", 9.3, "kPa", "HH"),  # 69.8 mmHg >= Kost 1990 critical 67 mmHg
        ("2019-8", 5.3, "kPa", "N"),  # 39.8 mmHg
        ("2703-7", 8.0, "kPa", "L"),  # 60 mmHg < 80
        ("1975-2", 30, "umol/L", "H"),  # 1.75 mg/dL > 1.2
        ("14631-6", 10, "umol/L", "N"),  # moles/volume twin of 1975-2
        ("17861-6", 2.4, "mmol/L", "N"),  # 9.6 mg/dL
        ("2777-1", 0.3, "mmol/L", "LL"),  # 0.93 mg/dL < critical 1.2
        ("2601-3", 0.4, "mmol/L", "LL"),  # 0.97 mg/dL < critical 1.0
    ],
)
def test_lab_flags_in_si_units_are_interpreted(
    loinc: str, value: float, unit: str, flag: str
) -> None:
    assert flag_observation(_obs("Observation/x", loinc, value, unit), "male", 60).flag == flag


def test_no_unit_mismatch_left_for_blood_gas_and_bilirubin_in_si() -> None:
    patient = Patient(ref="Patient/p", id="p", sex="female", birth_date=date(1950, 1, 1))
    rec = PatientRecord(
        patient=patient,
        observations=(
            _obs("Observation/a", "2019-8", 6.1, "kPa"),
            _obs("Observation/b", "2703-7", 11.0, "kPa"),
            _obs("Observation/c", "1975-2", 12, "µmol/L"),
            _obs("Observation/d", "17861-6", 2.3, "mmol/L"),
        ),
    )
    assert all(f.flag != "unit_mismatch" for f in lab_flags(rec))
