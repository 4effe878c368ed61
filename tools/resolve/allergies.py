"""Allergies: what the knowledge graph's allergy checks should hear, and what is not an allergy.

A "no known allergy" entry (SNOMED CT 716186003 and kin, the IPS absent/unknown codes) is not an
allergy; an inactive, resolved or refuted one is history. A SNOMED CT substance code is read as
the substance's name (``data/resolve/snomed_allergens.yaml``), so "373270004" is a penicillin
allergy that meets piperacillin as "penicillin" written out does.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from core.domain import Allergy
from core.errors import DataFileError
from core.settings import SHIPPED_DATA
from tools.fhir.codes import SNOMED

ALLERGENS_FILE = SHIPPED_DATA / "resolve" / "snomed_allergens.yaml"
# FHIR R4 allergyintolerance-clinical and -verification value sets: not a current allergy.
NOT_CURRENT = frozenset({"inactive", "resolved"})
NOT_TRUE = frozenset({"refuted", "entered-in-error"})

Outcome = Literal["active", "no_known", "not_current"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AllergenRow(_Model):
    snomed: str
    term: str
    reads_as: str
    source: str


class NoKnownRow(_Model):
    system: str
    code: str
    term: str
    source: str


class AllergyTable(_Model):
    allergens: dict[str, AllergenRow]
    no_known: dict[tuple[str, str], NoKnownRow]


class AllergyResolution(_Model):
    ref: str
    substance: str
    """What the allergy checks are given: the mapped name, else the record's own text."""
    outcome: Outcome
    how: str = ""


def _rows(doc: dict[str, object], key: str, sources: dict[str, str], path: Path) -> list[dict]:  # type: ignore[type-arg]
    raw = doc.get(key)
    if not isinstance(raw, list):
        raise DataFileError(f"`{key}` is not a list", file=path.name)
    for row in raw:
        if row.get("source") not in sources:
            raise DataFileError(f"{key}: unknown source in {row}", file=path.name)
        row["source"] = sources[row["source"]]
    return raw


def load_allergy_table(path: Path = ALLERGENS_FILE) -> AllergyTable:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        sources = {k: " ".join(str(v).split()) for k, v in doc["sources"].items()}
        allergens = [AllergenRow.model_validate(r) for r in _rows(doc, "allergens", sources, path)]
        no_known = [NoKnownRow.model_validate(r) for r in _rows(doc, "no_known", sources, path)]
    except (OSError, yaml.YAMLError, KeyError, ValidationError) as exc:
        raise DataFileError(str(exc), file=str(path)) from exc
    return AllergyTable(
        allergens={r.snomed: r for r in allergens},
        no_known={(r.system, r.code): r for r in no_known},
    )


@cache
def allergy_table() -> AllergyTable:
    return load_allergy_table()


def resolve_allergy(allergy: Allergy) -> AllergyResolution:
    table = allergy_table()
    base = {"ref": allergy.ref, "substance": allergy.substance}
    for c in allergy.codings:
        row = table.no_known.get((c.system, c.code))
        if row is not None:
            return AllergyResolution(**base, outcome="no_known", how=f"{row.term} ({c.code})")
    if allergy.clinical_status in NOT_CURRENT or allergy.verification_status in NOT_TRUE:
        why = allergy.verification_status or allergy.clinical_status
        return AllergyResolution(**base, outcome="not_current", how=why)
    for c in allergy.codings:
        mapped = table.allergens.get(c.code) if c.system == SNOMED else None
        if mapped is not None:
            how = f"SNOMED CT {c.code} {mapped.term} read as '{mapped.reads_as}'"
            return AllergyResolution(
                ref=allergy.ref, substance=mapped.reads_as, outcome="active", how=how
            )
    return AllergyResolution(**base, outcome="active", how="the record's substance text")


def resolve_allergies(allergies: Iterable[Allergy]) -> list[AllergyResolution]:
    return [resolve_allergy(a) for a in allergies]


def active_allergens(allergies: Iterable[Allergy]) -> dict[str, str]:
    """Substance (as the allergy checks should read it) -> AllergyIntolerance ref."""
    out: dict[str, str] = {}
    for r in resolve_allergies(allergies):
        if r.outcome == "active":
            out.setdefault(r.substance, r.ref)
    return out


def allergen_name(code: str) -> str:
    """The preferred term of a SNOMED CT allergen code we map, or ''."""
    row = allergy_table().allergens.get(code)
    return row.term if row is not None else ""
