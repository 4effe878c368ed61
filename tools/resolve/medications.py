"""Medications -> KG ingredients, each saying how it was read and how sure that is.

Every current medication (``current_medications``: status, intent, effective period; repeated
prescriptions of one product collapsed into the latest) is read by the routes of
``tools.resolve.med_routes`` (codes first, then the Medication's ingredients, the product name,
brands) against the KG in one look-up; a name that matches nothing is compared with the KG's
vocabulary and a near miss ("Simvistatin") is taken as ``fuzzy``, with a confidence below every
exact route, and said so wherever it is used. A medication that does not resolve keeps its place
with ``why``; nothing is dropped.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from core.domain import Medication, PatientRecord
from kg.matching import normalize_term
from kg.models import DrugRef
from tools.fhir.codes import RXNORM, SNOMED
from tools.fhir.medications import ATC
from tools.resolve.med_maps import MedicationMaps, medication_maps
from tools.resolve.med_routes import CONFIDENCE, How, Route, routes_for, states_no_medication
from tools.resolve.product_names import SALT_WORDS

_SYSTEM_NAMES = {RXNORM: "RxNorm", ATC: "ATC", SNOMED: "SNOMED CT"}
FUZZY_CUTOFF = 0.85
"""difflib similarity a near-miss name needs ("simvistatin"~"simvastatin" is 0.91; "metformine"
~"metformin" 0.95); below it a name stays unresolved rather than guessed."""
FUZZY_CEILING = 0.8
"""A fuzzy match's confidence is its similarity times this: always below every exact route."""


class IngredientMatch(BaseModel):
    model_config = ConfigDict(frozen=True)

    drug_id: str = Field(description="kg:Drug/...")
    name: str
    how: How
    via: str = Field(description="the code, name or brand it was read from")
    confidence: float
    classes: tuple[str, ...] = Field(default=(), description="the KG drug's classes")
    anticholinergic_burden: int = 0

    @property
    def fuzzy(self) -> bool:
        return self.how == "fuzzy"


class MedicationResolution(BaseModel):
    model_config = ConfigDict(frozen=True)

    ref: str
    text: str
    codes: tuple[str, ...] = ()
    ingredients: tuple[IngredientMatch, ...] = ()
    unresolved: tuple[str, ...] = Field(default=(), description="parts no route could read")
    why: str = Field(default="", description="why nothing resolved")
    repeats: tuple[str, ...] = Field(default=(), description="refs of the same product, older")

    @property
    def resolved(self) -> bool:
        return bool(self.ingredients)

    @property
    def confidence(self) -> float:
        return min((i.confidence for i in self.ingredients), default=0.0)


def _product_key(med: Medication) -> str:
    coded = sorted(f"{c.system}|{c.code}" for c in med.codings if c.code)
    return coded[0] if coded else normalize_term(med.name)


def current_medications(
    record: PatientRecord, now: datetime | None = None
) -> list[tuple[Medication, tuple[str, ...]]]:
    """What the patient is on now, one entry per product (the latest prescription, with the refs
    of the older repeats); IPS "no known medications" statements are not medications."""
    groups: dict[str, list[Medication]] = {}
    for med in record.active_medications(now):
        if not states_no_medication(med):
            groups.setdefault(_product_key(med), []).append(med)
    out = []
    for meds in groups.values():
        ordered = sorted(meds, key=lambda m: m.start.timestamp() if m.start else float("-inf"))
        latest = ordered[-1]
        out.append((latest, tuple(m.ref for m in ordered[:-1])))
    return out


def _terms(routes: list[list[Route]]) -> list[str]:
    return sorted({t for rs in routes for r in rs for part in r.parts for t in part})


def _hits(store: Any, terms: list[str]) -> dict[str, list[DrugRef]]:
    by_term: dict[str, list[DrugRef]] = {}
    for ref in store.resolve_drugs(terms).resolved if terms else []:
        by_term.setdefault(normalize_term(ref.matched), []).append(ref)
    return by_term


def _match(route: Route, term: str, ref: DrugRef) -> IngredientMatch:
    how: How = "brand" if route.how == "product_name" and ref.matched_as == "brand" else route.how
    via = route.via if route.by_code else f"{route.via} -> '{term}'"
    return _ingredient(ref, how, via, CONFIDENCE[how])


def _ingredient(ref: DrugRef, how: How, via: str, confidence: float) -> IngredientMatch:
    return IngredientMatch(
        drug_id=ref.id,
        name=ref.name,
        how=how,
        via=via,
        confidence=confidence,
        classes=tuple(ref.classes),
        anticholinergic_burden=ref.anticholinergic_burden,
    )


def _read(route: Route, hits: dict[str, list[DrugRef]]) -> tuple[list[IngredientMatch], list[str]]:
    found: list[IngredientMatch] = []
    missing: list[str] = []
    for part in route.parts:
        term = next((t for t in part if normalize_term(t) in hits), None)
        if term is None:
            missing.append(part[0])
            continue
        found.extend(_match(route, term, ref) for ref in hits[normalize_term(term)])
    return found, [*missing, *route.unnamed]


def _choose(routes: list[Route], hits: dict[str, list[DrugRef]]) -> tuple[Route | None, Any, Any]:
    """The first route that reads every part; else the one that reads the most."""
    best: tuple[Route | None, list[IngredientMatch], list[str]] = (None, [], [])
    for route in routes:
        found, missing = _read(route, hits)
        if found and not missing:
            return route, found, missing
        if len(found) > len(best[1]):
            best = (route, found, missing)
    return best


def _with_name_extras(
    chosen: Route, found: list[IngredientMatch], routes: list[Route], hits: dict[str, Any]
) -> list[IngredientMatch]:
    """A combination coded by one ingredient's code ("amoxicillin 500 MG / clavulanate 125 MG"
    coded 723, amoxicillin): the name's other ingredients are checked too."""
    have = {m.drug_id for m in found}
    for route in routes:
        if route.how == "product_name" and len(route.parts) > len(have) and route is not chosen:
            extra, _ = _read(route, hits)
            found = [*found, *(m for m in extra if m.drug_id not in have)]
            break
    return found


def _dedupe(found: list[IngredientMatch]) -> tuple[IngredientMatch, ...]:
    return tuple({m.drug_id: m for m in reversed(found)}.values())[::-1]


def _why(med: Medication, routes: list[Route]) -> str:
    if not routes:
        return "no code or name to read"
    tried = [r.via.split(":", 1)[0] for r in routes if r.by_code]
    tried += [f"name '{med.name}'"] if med.name else []
    return "no knowledge-graph drug for " + " or ".join(dict.fromkeys(tried))


def _resolve_one(
    med: Medication, routes: list[Route], hits: dict[str, list[DrugRef]], repeats: tuple[str, ...]
) -> tuple[MedicationResolution, list[tuple[str, ...]]]:
    """The resolution, and the name parts still open to a fuzzy match."""
    chosen, found, missing = _choose(routes, hits)
    names = [r for r in routes if r.how == "product_name"]
    if chosen is None:
        open_parts = [p for r in names for p in r.parts]
    else:
        found = _with_name_extras(chosen, found, routes, hits)
        open_parts = [p for p in chosen.parts if p[0] in missing] if chosen in names else []
    codes = tuple(
        f"{_SYSTEM_NAMES.get(c.system, c.system)} {c.code}" for c in med.codings if c.code
    )
    resolution = MedicationResolution(
        ref=med.ref,
        text=med.name or ", ".join(codes),
        codes=codes,
        ingredients=_dedupe(found),
        unresolved=tuple(missing),
        why="" if found else _why(med, routes),
        repeats=repeats,
    )
    return resolution, open_parts


def _edits(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions)."""
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def _a_misspelling_of(candidate: str, term: str) -> bool:
    """A typo, not another drug: same first letter and at most one edit per five letters (two at
    most). Similar names of different drugs fail it: clotrimazole/co-trimoxazole (3 edits),
    ganciclovir/aciclovir (other first letter), ofloxacin/moxifloxacin (3 edits)."""
    allowed = min(2, len(term) // 5)
    return candidate[:1] == term[:1] and _edits(candidate, term) <= allowed


def _whole_names(part: tuple[str, ...]) -> list[str]:
    """The candidates that keep every word of the name but its salt: a fuzzy match on a name's
    leading words alone would read "vitamin b 12" as "vitamin k"."""

    def words(name: str) -> int:
        return sum(w.strip(",") not in SALT_WORDS for w in name.split())

    return [c for c in part if words(c) == words(part[0])]


def _near_misses(store: Any, parts: list[tuple[str, ...]]) -> dict[str, tuple[str, float]]:
    """First candidate name of each part -> (the closest KG term, similarity), where one is a
    likely misspelling of it."""
    vocabulary = list(store.drug_terms())
    out: dict[str, tuple[str, float]] = {}
    for part in parts:
        for candidate in _whole_names(part):
            close = difflib.get_close_matches(candidate, vocabulary, n=3, cutoff=FUZZY_CUTOFF)
            typo = next((term for term in close if _a_misspelling_of(candidate, term)), None)
            if typo is not None:
                out[part[0]] = (typo, difflib.SequenceMatcher(None, candidate, typo).ratio())
                break
    return out


def _fuzzy(
    result: MedicationResolution,
    parts: list[tuple[str, ...]],
    near: dict[str, tuple[str, float]],
    hits: dict[str, list[DrugRef]],
) -> MedicationResolution:
    found = list(result.ingredients)
    missing = list(result.unresolved)
    for part in parts:
        term, score = near.get(part[0], ("", 0.0))
        for ref in hits.get(term, []):
            via = f"'{part[0]}' ~ '{term}' (similarity {score:.2f})"
            conf = round(score * FUZZY_CEILING, 2)
            found.append(
                IngredientMatch(
                    drug_id=ref.id, name=ref.name, how="fuzzy", via=via, confidence=conf
                )
            )
        if term in hits and part[0] in missing:
            missing.remove(part[0])
    if not found:
        return result
    return result.model_copy(
        update={"ingredients": _dedupe(found), "unresolved": tuple(missing), "why": ""}
    )


def resolve_medications(
    store: Any,
    meds: Sequence[Medication],
    *,
    repeats: dict[str, tuple[str, ...]] | None = None,
    maps: MedicationMaps | None = None,
) -> list[MedicationResolution]:
    """Each medication's resolution, in order: one KG look-up for every exact route, and one more
    (with the KG's vocabulary) only when a name is left that no route read."""
    maps = maps or medication_maps()
    routes = [routes_for(m, maps) for m in meds]
    hits = _hits(store, _terms(routes))
    pairs = [
        _resolve_one(m, rs, hits, (repeats or {}).get(m.ref, ()))
        for m, rs in zip(meds, routes, strict=True)
    ]
    open_parts = [p for _, parts in pairs for p in parts]
    if not open_parts:
        return [r for r, _ in pairs]
    near = _near_misses(store, open_parts)
    near_hits = _hits(store, sorted({term for term, _ in near.values()}))
    return [_fuzzy(r, parts, near, near_hits) if parts else r for r, parts in pairs]


def resolve_record(
    store: Any, record: PatientRecord, now: datetime | None = None
) -> list[MedicationResolution]:
    """The resolution of every medication the patient is on now."""
    current = current_medications(record, now)
    return resolve_medications(
        store, [m for m, _ in current], repeats={m.ref: older for m, older in current}
    )
