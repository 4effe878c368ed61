"""Conditions: the ICD-10-CM codes the knowledge graph's facts hang on, from ICD-10 or SNOMED CT.

Most records outside the US claims world code conditions in SNOMED CT only; they reach the same KG
conditions through ``data/resolve/snomed_conditions.yaml`` (our own map, sourced per row). Only
conditions that hold now count: ``clinicalStatus`` inactive, resolved or remission and
``verificationStatus`` refuted or entered-in-error are history, kept but not checked. An IPS
"no known problems" entry is not a condition.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from core.domain import Problem
from core.errors import DataFileError
from core.settings import SHIPPED_DATA
from tools.fhir.codes import SNOMED, is_valid_icd10

CONDITIONS_FILE = SHIPPED_DATA / "resolve" / "snomed_conditions.yaml"
ABSENT_UNKNOWN = "http://hl7.org/fhir/uv/ips/CodeSystem/absent-unknown-uv-ips"
"""IPS absent/unknown code system: no-known-problems, no-known-allergies, no-allergy-info..."""
# FHIR R4 condition-clinical and condition-ver-status value sets: what is not a current problem.
NOT_CURRENT = frozenset({"inactive", "resolved", "remission"})
NOT_TRUE = frozenset({"refuted", "entered-in-error"})
# ICD-10-CM chapter 15 (O00-O9A) and Z33/Z34 (pregnant state, supervision of normal pregnancy).
PREGNANCY_ICD = ("O", "Z33", "Z34")

Outcome = Literal["resolved", "unresolved", "not_current", "no_known"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ConditionMapRow(_Model):
    snomed: str
    term: str
    icd10cm: str
    title: str
    source: str
    pregnancy: bool = False


class ConditionResolution(_Model):
    """How one Condition was read: its ICD-10-CM codes, and how they were found."""

    ref: str
    display: str
    icd10cm: tuple[str, ...] = ()
    outcome: Outcome
    how: str = ""
    pregnancy: bool = False


def load_condition_map(path: Path = CONDITIONS_FILE) -> dict[str, ConditionMapRow]:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DataFileError(str(exc), file=str(path)) from exc
    sources = {k: " ".join(str(v).split()) for k, v in doc["sources"].items()}
    out: dict[str, ConditionMapRow] = {}
    for i, raw in enumerate(doc["conditions"]):
        where = f"conditions[{i}] ({raw.get('snomed', '?')})"
        if raw.get("source") not in sources:
            raise DataFileError(f"{where}: unknown source {raw.get('source')!r}", file=path.name)
        try:
            row = ConditionMapRow.model_validate({**raw, "source": sources[raw["source"]]})
        except ValidationError as exc:
            raise DataFileError(f"{where}: {exc}", file=path.name) from exc
        if row.snomed in out:
            raise DataFileError(f"{where}: SNOMED CT {row.snomed} listed twice", file=path.name)
        if not is_valid_icd10(row.icd10cm):
            raise DataFileError(f"{where}: {row.icd10cm} is not ICD-10-CM", file=path.name)
        out[row.snomed] = row
    return out


@cache
def condition_map() -> dict[str, ConditionMapRow]:
    return load_condition_map()


def is_current(problem: Problem) -> bool:
    """A problem the patient has now: not inactive/resolved/in remission, not refuted or
    entered in error. An unstated status counts as current (the safety net errs to warn)."""
    return (
        problem.clinical_status not in NOT_CURRENT and problem.verification_status not in NOT_TRUE
    )


def resolve_condition(problem: Problem) -> ConditionResolution:
    base = {"ref": problem.ref, "display": problem.display}
    if any(c.system == ABSENT_UNKNOWN for c in problem.codings):
        return ConditionResolution(**base, outcome="no_known", how="IPS absent/unknown code")
    icd = tuple(dict.fromkeys(c.code for c in problem.codings if "icd-10" in c.system and c.code))
    rows = [condition_map().get(c.code) for c in problem.codings if c.system == SNOMED]
    mapped = [r for r in rows if r is not None]
    codes = icd + tuple(r.icd10cm for r in mapped if r.icd10cm not in icd)
    pregnancy = any(r.pregnancy for r in mapped) or any(c.startswith(PREGNANCY_ICD) for c in icd)
    how = "; ".join(
        [*(f"ICD-10 {c}" for c in icd)]
        + [f"SNOMED CT {r.snomed} {r.term} -> ICD-10-CM {r.icd10cm} ({r.source})" for r in mapped]
    )
    if not is_current(problem):
        status = problem.verification_status if problem.verification_status in NOT_TRUE else ""
        why = status or problem.clinical_status
        return ConditionResolution(**base, icd10cm=codes, outcome="not_current", how=why)
    outcome: Outcome = "resolved" if codes else "unresolved"
    return ConditionResolution(
        **base, icd10cm=codes, outcome=outcome, how=how or "no ICD-10 or mapped SNOMED CT code",
        pregnancy=pregnancy,
    )  # fmt: skip


def resolve_conditions(problems: Iterable[Problem]) -> list[ConditionResolution]:
    return [resolve_condition(p) for p in problems]


def current_condition_codes(problems: Iterable[Problem]) -> dict[str, str]:
    """ICD-10-CM code -> the Condition ref it came from, for every current, resolved problem."""
    out: dict[str, str] = {}
    for r in resolve_conditions(problems):
        if r.outcome == "resolved":
            for code in r.icd10cm:
                out.setdefault(code, r.ref)
    return out
