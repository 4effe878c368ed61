"""Patient, Encounter, Condition and AllergyIntolerance mappers (medications: ``medications``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from core.domain import Allergy, Coding, Encounter, Patient, Problem
from tools.fhir.bundle import Entry
from tools.fhir.codes import ICD10, ICD10CM, RXNORM, SNOMED, first_known
from tools.fhir.context import ParseContext
from tools.fhir.values import (
    codings,
    concept_text,
    first_code,
    period_start,
    to_datetime,
)
from tools.resolve.allergies import allergen_name

_SEXES: dict[str, Literal["male", "female", "other", "unknown"]] = {
    "male": "male",
    "female": "female",
    "other": "other",
}


def _human_name(names: Any) -> str:
    for n in names or ():
        if n.text:
            return str(n.text)
        parts = [*(n.given or ()), n.family or ""]
        joined = " ".join(p for p in parts if p)
        if joined:
            return joined
    return ""


# An age of 110 or more (a supercentenarian) is verified before it is believed: validated
# supercentenarians number in the hundreds worldwide and the oldest verified human lived to 122
# (Maier H et al., eds. Exceptional Lifespans. Springer 2021; Robine JM, Allard M. Science
# 1998;279:1834-5). A living patient born that long ago is most often a death never recorded.
OLDEST_AGE = 110


def _deceased(r: Any, entry: Entry, ctx: ParseContext) -> tuple[bool, datetime | None]:
    when = to_datetime(r.deceasedDateTime)
    if when is not None:
        return True, ctx.checked_date(when, entry.ref, "Patient.deceasedDateTime")
    return bool(r.deceasedBoolean), None


def _checked_age(birth: datetime | None, entry: Entry, ctx: ParseContext) -> None:
    age = (ctx.now - birth).days / 365.25 if birth is not None else 0.0
    if birth is not None and age >= OLDEST_AGE:
        ctx.issue(
            entry.ref,
            "implausible_age",
            f"born {birth.date().isoformat()}, aged {age:.0f} and not recorded as deceased: "
            "verify the birth date and whether the patient has died",
            "Patient.birthDate",
        )


def patient(entry: Entry, ctx: ParseContext, ward: str) -> Patient:
    r = entry.resource
    birth = to_datetime(r.birthDate)
    ctx.checked_date(birth, entry.ref, "Patient.birthDate")
    deceased, deceased_at = _deceased(r, entry, ctx)
    if not deceased:  # a dead patient's birth date may be long ago
        _checked_age(birth, entry, ctx)
    return Patient(
        deceased=deceased,
        deceased_at=deceased_at,
        ref=entry.ref,
        id=entry.ref.split("/", 1)[1],
        name=_human_name(r.name),
        sex=_SEXES.get(str(r.gender), "unknown"),
        birth_date=birth.date() if birth else None,
        ward=ward,
        identifiers=tuple(f"{i.system or ''}|{i.value or ''}" for i in r.identifier or ()),
    )


def _ward(r: Any, ctx: ParseContext) -> str:
    """The ward: the active (else the last) location; a Location resource's name if resolvable."""
    locations = list(r.location or ())
    active = [loc for loc in locations if loc.status == "active"]
    for loc in reversed(active or locations):
        ref = loc.location
        target = ctx.bundle.resolve(ref.reference)
        if target is not None and target.resource.name:
            return str(target.resource.name)
        if ref.display:
            return str(ref.display)
    return ""


def encounter(entry: Entry, ctx: ParseContext) -> Encounter:
    r = entry.resource
    return Encounter(
        ref=entry.ref,
        status=r.status or "",
        ward=_ward(r, ctx),
        reason="; ".join(concept_text(c) for c in r.reasonCode or () if concept_text(c)),
        start=ctx.checked_date(period_start(r.period), entry.ref, "Encounter.period.start"),
        end=to_datetime(r.period.end) if r.period else None,
    )


def problem(entry: Entry, ctx: ParseContext) -> Problem:
    r = entry.resource
    codes = codings(r.code)
    known = first_known(codes, ICD10CM, SNOMED, ICD10)
    if known is None:
        ctx.issue(entry.ref, "unknown_code", "no ICD-10-CM/SNOMED CT code", "Condition.code")
    onset = to_datetime(r.onsetDateTime) or period_start(r.onsetPeriod)
    return Problem(
        ref=entry.ref,
        display=concept_text(r.code) or "(uncoded condition)",
        codings=codes,
        clinical_status=first_code(r.clinicalStatus),
        verification_status=first_code(r.verificationStatus),
        onset=ctx.checked_date(onset, entry.ref, "Condition.onsetDateTime"),
        unknown_code=known is None,
    )


def allergy(entry: Entry, ctx: ParseContext) -> Allergy:
    r = entry.resource
    codes = codings(r.code)
    known = first_known(codes, RXNORM, SNOMED)
    if known is None:
        ctx.issue(entry.ref, "unknown_code", "no RxNorm/SNOMED CT substance code", "code")
    reactions = [
        concept_text(m)
        for rx in r.reaction or ()
        for m in rx.manifestation or ()
        if concept_text(m)
    ]
    return Allergy(
        ref=entry.ref,
        substance=_substance(r.code, codes),
        codings=codes,
        reaction="; ".join(reactions),
        criticality=r.criticality or "",
        category=str((r.category or [""])[0]),
        clinical_status=first_code(r.clinicalStatus),
        verification_status=first_code(r.verificationStatus),
        unknown_code=known is None,
    )


def _substance(concept: Any, codes: tuple[Coding, ...]) -> str:
    """The allergy's substance by name: the record's text, else the name our allergen map gives
    a bare SNOMED CT code (a pharmacist cannot read "373270004")."""
    text = concept_text(concept)
    for c in codes:
        if c.system == SNOMED and (not text or text == c.code):
            named = allergen_name(c.code)
            if named:
                return named
    return text or "(unnamed substance)"
