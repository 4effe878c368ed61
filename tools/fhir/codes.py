"""Code systems and code validity checks: what makes a code 'known' rather than local.

A code that is not in a recognised system, or that is malformed, is kept on the fact and the fact
is marked ``unknown_code=True``; nothing is dropped. These are *format* checks (LOINC's mod-10
check digit, SNOMED CT's partition identifier, ICD-10-CM's shape); whether a well-formed code
exists in the vocabulary is answered by the knowledge graph, which loads the full ICD-10-CM.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from core.domain import Coding

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"

_LOINC_RE = re.compile(r"^(\d{1,7})-(\d)$")
# ICD-10-CM: letter, digit, alphanumeric, then optionally a dot and 1-4 alphanumerics
# (CMS/NCHS ICD-10-CM Official Guidelines, FY2025, section I.A.2-I.A.4 "format and structure").
_ICD10_RE = re.compile(r"^[A-Z]\d[0-9A-Z](\.[0-9A-Z]{1,4})?$")
_SNOMED_RE = re.compile(r"^\d{6,18}$")


def _luhn_check_digit(payload: str) -> int:
    """Mod-10 check digit as LOINC defines it (LOINC Users' Guide, appendix "Calculating Mod 10
    Check Digits"): double every second digit from the right, sum the digits, round up to ten."""
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            d = d - 9 if d > 9 else d
        total += d
    return (10 - total % 10) % 10


def is_valid_loinc(code: str) -> bool:
    m = _LOINC_RE.match(code)
    if m is None:
        return False
    return _luhn_check_digit(m.group(1)) == int(m.group(2))


def is_valid_snomed(code: str) -> bool:
    """A SNOMED CT concept id: 6-18 digits whose partition identifier (the two digits before the
    check digit) is 00 or 10, "concept" (SNOMED CT Technical Implementation Guide, section 6.6,
    "Partition identifier")."""
    return bool(_SNOMED_RE.match(code)) and code[-3:-1] in ("00", "10")


def is_valid_icd10(code: str) -> bool:
    return bool(_ICD10_RE.match(code))


def is_known(coding: Coding) -> bool:
    """True when the coding is in a recognised system and well formed."""
    checks = {
        LOINC: is_valid_loinc,
        SNOMED: is_valid_snomed,
        ICD10CM: is_valid_icd10,
        ICD10: is_valid_icd10,
        RXNORM: str.isdigit,
    }
    check = checks.get(coding.system)
    return bool(check and coding.code and check(coding.code))


def first_known(codings: Iterable[Coding], *systems: str) -> Coding | None:
    """The first well-formed coding from one of ``systems``, in the order given."""
    items = tuple(codings)
    for system in systems:
        for c in items:
            if c.system == system and is_known(c):
                return c
    return None
