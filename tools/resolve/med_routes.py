"""The ways one medication can be read, most certain first: its codes, its Medication's
ingredient list, its product name, its brand.

A route is a list of parts (one per ingredient it expects), each a list of KG terms to look up in
order; the first term that names a KG drug resolves the part. Routes are only built here; the
look-up and the choice between routes are ``tools.resolve.medications``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from core.domain import Coding, Medication
from tools.fhir.codes import RXNORM, SNOMED
from tools.fhir.medications import ATC
from tools.resolve.med_maps import CodeRow, MedicationMaps
from tools.resolve.product_names import parse_product

How = Literal[
    "rxnorm", "rxnorm_product", "atc", "atc_combination", "snomed", "ingredient",
    "product_name", "brand", "fuzzy",
]  # fmt: skip
CONFIDENCE: dict[str, float] = {
    "rxnorm": 1.0,
    "rxnorm_product": 1.0,
    "atc": 1.0,
    "atc_combination": 1.0,
    "snomed": 1.0,
    "ingredient": 0.95,
    "product_name": 0.95,
    "brand": 0.9,
}
"""A code from a sourced table is certain; a name read from text nearly so (the text could name
a product we parse wrongly); a brand names a product whose make-up can differ by country. Fuzzy
matches score below all of these (``medications.FUZZY_CEILING``)."""
CODE_ROUTES = frozenset({"rxnorm", "rxnorm_product", "atc", "atc_combination", "snomed"})
# IPS "absent or unknown" codes say the patient takes nothing known: not a drug to resolve
# (HL7 IPS IG, CodeSystem absent-unknown-uv-ips: no-known-medication, no-medication-info).
ABSENT_SYSTEMS = ("http://hl7.org/fhir/uv/ips/CodeSystem/absent-unknown-uv-ips",)


@dataclass(frozen=True)
class Route:
    how: How
    via: str
    parts: tuple[tuple[str, ...], ...]
    unnamed: tuple[str, ...] = ()

    @property
    def by_code(self) -> bool:
        return self.how in CODE_ROUTES


def _mapped(how: How, label: str, row: CodeRow) -> Route:
    parts = tuple((name,) for name in row.ingredients)
    unnamed = tuple(f"{u} (not named by {label})" for u in row.unnamed)
    return Route(how, f"{label}: {row.name}", parts, unnamed)


def code_routes(coding: Coding, maps: MedicationMaps) -> list[Route]:
    code = coding.code.strip()
    if not code:
        return []
    if coding.system == RXNORM:
        row = maps.rxnorm_products.get(code)
        routes = [Route("rxnorm", f"RxNorm {code}", ((code,),))]
        return [_mapped("rxnorm_product", f"RxNorm {code}", row), *routes] if row else routes
    if coding.system == ATC:
        row = maps.atc_combinations.get(code.upper())
        if row:
            return [_mapped("atc_combination", f"ATC {code}", row)]
        return [Route("atc", f"ATC {code}", ((code,),))]
    if coding.system == SNOMED and (row := maps.snomed_products.get(code)):
        return [_mapped("snomed", f"SNOMED CT {code}", row)]
    return []


def name_routes(text: str, maps: MedicationMaps) -> list[Route]:
    """Routes from a product name: its parsed ingredients, then its brands (bracketed, whole
    name, or a listed local name inside it, as Chinese product names carry their form)."""
    parsed = parse_product(text)
    routes = []
    if parsed.ingredients:
        routes.append(Route("product_name", f"name '{text}'", parsed.ingredients))
    if parsed.brand:
        routes.append(Route("brand", f"brand [{parsed.brand}]", ((parsed.brand.lower(),),)))
    lowered = text.lower()
    for key in (parsed.brand.lower(), parsed.whole, *(n for n in maps.brands if n in lowered)):
        row = maps.brands.get(key)
        if row is not None:
            parts = tuple((name,) for name in row.ingredients)
            routes.append(Route("brand", f"brand '{row.names[0]}' ({row.source})", parts))
    return routes


def ingredient_route(med: Medication, maps: MedicationMaps) -> Route | None:
    """One route over the Medication resource's ``ingredient[]``: each ingredient by its codes,
    then its name."""
    parts = []
    for item in med.ingredients:
        terms: list[str] = []
        for coding in item.codings:
            for route in code_routes(coding, maps):
                if len(route.parts) == 1:
                    terms.extend(route.parts[0])
        for route in name_routes(item.text, maps) if item.text else []:
            if route.how == "product_name":
                terms.extend(t for part in route.parts for t in part)
        if terms:
            parts.append(tuple(dict.fromkeys(terms)))
    if not parts:
        return None
    return Route("ingredient", "Medication.ingredient", tuple(parts))


def routes_for(med: Medication, maps: MedicationMaps) -> list[Route]:
    routes = [r for coding in med.codings for r in code_routes(coding, maps)]
    if (ingredients := ingredient_route(med, maps)) is not None:
        routes.append(ingredients)
    texts = dict.fromkeys([med.name, *(c.display for c in med.codings if c.display)])
    for text in texts:
        routes.extend(name_routes(text, maps))
    return routes


def states_no_medication(med: Medication) -> bool:
    return any(c.system in ABSENT_SYSTEMS for c in med.codings)
