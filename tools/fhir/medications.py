"""MedicationRequest and MedicationStatement mappers: the drug as the record names it.

The drug is read from ``medicationCodeableConcept`` or from the ``Medication`` that
``medicationReference`` names (contained ``#id``, another entry of the bundle, or only a display).
A Medication's ``ingredient[]`` is kept with its codes, so a combination product whose own code
we do not know still shows its ingredients. Nothing here decides which KG drug it is: that is
``tools.resolve.medications``.
"""

from __future__ import annotations

from typing import Any

from core.domain import Medication, MedicationIngredient
from tools.fhir.bundle import Entry
from tools.fhir.codes import RXNORM, SNOMED, first_known
from tools.fhir.context import ParseContext
from tools.fhir.values import codings, concept_text, period_start, quantity_text, to_datetime

ATC = "http://www.whocc.no/atc"


class _TextConcept:
    """A stand-in CodeableConcept for a medicationReference that only has a display."""

    coding: tuple[()] = ()

    def __init__(self, text: str) -> None:
        self.text = text


def _medication_resource(r: Any, ctx: ParseContext) -> Any:
    """The Medication resource a ``medicationReference`` names (contained or in the bundle)."""
    ref = r.medicationReference
    if ref is None or not ref.reference:
        return None
    if ref.reference.startswith("#"):
        return next((c for c in r.contained or () if c.id == ref.reference[1:]), None)
    target = ctx.bundle.resolve(ref.reference)
    return target.resource if target is not None else None


def _medication_concept(r: Any, resource: Any) -> Any:
    if r.medicationCodeableConcept is not None:
        return r.medicationCodeableConcept
    if resource is not None and resource.code is not None:
        return resource.code
    ref = r.medicationReference
    return _TextConcept(str(ref.display)) if ref is not None and ref.display else None


def _ingredients(resource: Any, ctx: ParseContext) -> tuple[MedicationIngredient, ...]:
    out = []
    for item in getattr(resource, "ingredient", None) or ():
        concept = item.itemCodeableConcept
        if concept is None and item.itemReference is not None:
            target = ctx.bundle.resolve(item.itemReference.reference)
            concept = target.resource.code if target is not None else None
            concept = concept or _TextConcept(str(item.itemReference.display or ""))
        out.append(
            MedicationIngredient(
                text=concept_text(concept), codings=codings(concept), active=item.isActive
            )
        )
    return tuple(out)


def _dosage_text(dosages: Any) -> tuple[str, str]:
    for d in dosages or ():
        dose = str(d.text or "")
        if not dose:
            for dr in d.doseAndRate or ():
                dose = quantity_text(dr.doseQuantity)
        return dose, concept_text(d.route)
    return "", ""


def medication(entry: Entry, ctx: ParseContext) -> Medication:
    r = entry.resource
    statement = r.get_resource_type() == "MedicationStatement"
    resource = _medication_resource(r, ctx)
    concept = _medication_concept(r, resource)
    ingredients = _ingredients(resource, ctx)
    codes = codings(concept)
    every_code = [*codes, *(c for i in ingredients for c in i.codings)]
    known = first_known(every_code, RXNORM, SNOMED) or next(
        (c for c in every_code if c.system == ATC and c.code), None
    )
    if known is None:
        ctx.issue(
            entry.ref, "unknown_code", "no RxNorm, ATC or SNOMED CT code for the medication",
            "medication[x]",
        )  # fmt: skip
    dose, route = _dosage_text(r.dosage if statement else r.dosageInstruction)
    end = None
    if statement:
        start = to_datetime(r.effectiveDateTime) or period_start(r.effectivePeriod)
        end = to_datetime(r.effectivePeriod.end) if r.effectivePeriod else None
    else:
        start = to_datetime(r.authoredOn)
    intent = "" if statement else str(r.intent or "")
    return Medication(
        ref=entry.ref,
        name=concept_text(concept) or _ingredient_names(ingredients) or "(unnamed medication)",
        codings=codes,
        status=r.status or "",
        intent=intent,
        dose=dose,
        route=route,
        start=ctx.checked_date(start, entry.ref, "authoredOn"),
        proposed=intent == "proposal" or r.status == "draft",
        unknown_code=known is None,
        kind="statement" if statement else "request",
        ingredients=ingredients,
        end=end,
    )


def _ingredient_names(ingredients: tuple[MedicationIngredient, ...]) -> str:
    return " / ".join(i.text for i in ingredients if i.text)
