"""Pure helpers that turn caller input into query parameters: no Cypher, no I/O."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from core.errors import InvalidInput
from kg.facts import PREGNANCY_CODE

_ID_PREFIXES = ("kg:drug/", "rxnorm:", "rxcui:", "atc:")
_PREGNANCY_PREFIXES = ("O", "Z33", "Z34")
"""ICD-10-CM chapter 15 (O00-O9A) and Z33/Z34 (pregnant state, supervision of pregnancy)."""


def normalize_term(text: str) -> str:
    """Lower-case, trimmed, inner whitespace collapsed: how drug terms are stored."""
    term = " ".join(text.strip().lower().split())
    for prefix in _ID_PREFIXES:
        if term.startswith(prefix):
            return term[len(prefix) :].strip()
    return term


def drug_node_ids(drug_ids: Iterable[str]) -> list[str]:
    """``kg:Drug/11289`` or ``11289`` -> ``11289`` (order kept, duplicates dropped)."""
    out: list[str] = []
    for raw in drug_ids:
        node = raw.split("/", 1)[1] if raw.startswith("kg:Drug/") else raw
        if node and node not in out:
            out.append(node)
    return out


def drug_kg_id(node_id: str) -> str:
    return f"kg:Drug/{node_id}"


def icd_code(raw: str) -> str:
    """Normalize an ICD-10-CM code: upper case, dot after the category (``n179`` -> ``N17.9``)."""
    code = raw.strip().upper().removeprefix("ICD10CM:").replace(" ", "")
    if not re.fullmatch(r"[A-Z][0-9][0-9A-Z]\.?[0-9A-Z]{0,4}", code):
        raise InvalidInput(f"not an ICD-10-CM code: {raw!r}")
    if len(code) > 3 and code[3] != ".":
        code = f"{code[:3]}.{code[3:]}"
    return code.rstrip(".")


def condition_candidates(codes: Sequence[str], pregnant: bool) -> dict[str, str]:
    """Condition node id -> the patient's code it came from, for every ancestor-or-self prefix.

    A fact on ``N17`` (acute kidney failure) applies to a patient coded ``N17.9``; a fact on
    ``N17.9`` does not apply to a patient coded only ``N17`` (less specific than the fact).
    """
    out: dict[str, str] = {}
    for raw in codes:
        code = icd_code(raw)
        compact = code.replace(".", "")
        for end in range(3, len(compact) + 1):
            prefix = compact[:3] + ("." + compact[3:end] if end > 3 else "")
            out.setdefault(f"ICD10CM:{prefix}", code)
        if code.startswith(_PREGNANCY_PREFIXES):
            pregnant = True
    if pregnant:
        out.setdefault(f"ICD10CM:{PREGNANCY_CODE}", "pregnant")
    return out


def lab_values(labs: Mapping[str, float] | None) -> dict[str, float]:
    out: dict[str, float] = {}
    for loinc, value in (labs or {}).items():
        code = loinc.strip().removeprefix("LOINC:").removeprefix("loinc:")
        if not re.fullmatch(r"[0-9]{1,7}-[0-9]", code):
            raise InvalidInput(f"not a LOINC code: {loinc!r}")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidInput(f"lab value for {code} is not a number: {value!r}")
        out[code] = float(value)
    return out
