"""Allergy checking against allergy classes and their cross-reactivity.

A recorded allergy is a class name ("penicillin", "sulfa", "NSAIDs") or a drug name
("amoxicillin", "Augmentin"); a drug allergy implies its allergy classes. A queried drug then
conflicts when it is the same drug, in the same class (contraindicated), or in a class with a
documented cross-reactivity (the level and risk come from that fact, e.g. penicillin ->
cephalosporin, Khan DA et al. J Allergy Clin Immunol 2022;150:1333-93).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kg import queries as q
from kg.matching import drug_kg_id, normalize_term
from kg.models import AllergyConflict, AllergyReport

if TYPE_CHECKING:
    from kg.cypher_store import CypherStore

Row = dict[str, Any]
RunRows = Callable[[str, Mapping[str, Any]], list[Row]]


@dataclass
class _Allergen:
    text: str
    drugs: set[str] = field(default_factory=set)
    classes: set[str] = field(default_factory=set)


def _allergens(store: CypherStore, run: RunRows, allergies: Sequence[str]) -> list[_Allergen]:
    allergens = [_Allergen(text) for text in allergies if text.strip()]
    terms = sorted({normalize_term(a.text) for a in allergens})
    class_hits: dict[str, set[str]] = {}
    for row in run(q.ALLERGY_CLASSES_BY_TERM, {"terms": terms}):
        class_hits.setdefault(row["term"], set()).add(row["class_id"])
    resolution = store.resolve_drugs([a.text for a in allergens])
    drug_hits: dict[str, set[str]] = {}
    for ref in resolution.resolved:
        drug_hits.setdefault(ref.matched, set()).add(ref.id.split("/", 1)[1])
    allergen_drugs = sorted({d for ds in drug_hits.values() for d in ds})
    classes_of: dict[str, set[str]] = {}
    if allergen_drugs:
        for row in run(q.ALLERGY_CLASSES_OF_DRUGS, {"ids": allergen_drugs}):
            classes_of.setdefault(row["drug"], set()).add(row["class_id"])
    for allergen in allergens:
        allergen.classes |= class_hits.get(normalize_term(allergen.text), set())
        allergen.drugs |= drug_hits.get(allergen.text, set())
        for drug in allergen.drugs:
            allergen.classes |= classes_of.get(drug, set())
    return allergens


def allergy_report(
    store: CypherStore, run: RunRows, drug_ids: list[str], allergies: Sequence[str]
) -> AllergyReport:
    allergens = _allergens(store, run, allergies)
    unresolved = [a.text for a in allergens if not a.drugs and not a.classes]
    unresolved += [text for text in allergies if not text.strip()]
    if not drug_ids or not any(a.classes or a.drugs for a in allergens):
        return AllergyReport(conflicts=[], unresolved=unresolved)
    memberships = run(q.ALLERGY_CLASSES_OF_DRUGS, {"ids": drug_ids})
    names = {row["drug"]: row["drug_name"] for row in memberships}
    names |= {d: n for d, n in _drug_names(store, drug_ids).items() if d not in names}
    all_classes = sorted({c for a in allergens for c in a.classes})
    cross = run(q.CROSS_REACTIONS, {"classes": all_classes}) if all_classes else []
    conflicts: dict[tuple[str, str], AllergyConflict] = {}
    for allergen in allergens:
        for conflict in _conflicts(allergen, drug_ids, names, memberships, cross):
            key = (conflict.drug, allergen.text)
            known = conflicts.get(key)
            if known is None or _rank(conflict) < _rank(known):
                conflicts[key] = conflict
    ordered = sorted(conflicts.values(), key=lambda c: (_rank(c), c.drug_name, c.allergy))
    return AllergyReport(conflicts=ordered, unresolved=unresolved)


def _drug_names(store: CypherStore, drug_ids: list[str]) -> dict[str, str]:
    resolution = store.resolve_drugs(drug_ids)
    return {ref.id.split("/", 1)[1]: ref.name for ref in resolution.resolved}


def _rank(conflict: AllergyConflict) -> int:
    return {"same_drug": 0, "same_class": 1, "cross_reactive": 2}[conflict.relation]


def _conflicts(
    allergen: _Allergen,
    drug_ids: list[str],
    names: dict[str, str],
    memberships: list[Row],
    cross: list[Row],
) -> list[AllergyConflict]:
    out: list[AllergyConflict] = []
    common = {"allergy": allergen.text}
    for drug in drug_ids:
        if drug in allergen.drugs:
            out.append(
                AllergyConflict(
                    id=drug_kg_id(drug),
                    source="recorded allergy to this drug",
                    drug=drug_kg_id(drug),
                    drug_name=names.get(drug, drug),
                    allergen_class="",
                    relation="same_drug",
                    level="contraindicated",
                    risk="the patient is recorded as allergic to this drug",
                    management="Do not give; choose an agent from an unrelated class.",
                    **common,
                )
            )
    for row in memberships:
        if row["class_id"] in allergen.classes:
            out.append(
                AllergyConflict(
                    id=f"kg:DrugClass/{row['class_id']}",
                    source=row["source"],
                    drug=drug_kg_id(row["drug"]),
                    drug_name=row["drug_name"],
                    allergen_class=row["class_id"],
                    relation="same_class",
                    level="contraindicated",
                    risk=f"{row['drug_name']} is one of the {row['class_name']}",
                    management="Avoid unless allergy has been de-labelled after specialist "
                    "assessment; choose an agent from an unrelated class.",
                    **common,
                )
            )
        for x in cross:
            if x["allergen_class"] in allergen.classes and x["class_id"] == row["class_id"]:
                out.append(
                    AllergyConflict(
                        id=x["id"],
                        source=x["source"],
                        drug=drug_kg_id(row["drug"]),
                        drug_name=row["drug_name"],
                        allergen_class=x["allergen_class"],
                        relation="cross_reactive",
                        level=x["level"],
                        risk=x["risk"],
                        management=x["management"],
                        **common,
                    )
                )
    return out
