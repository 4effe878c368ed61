"""Observation, DiagnosticReport, DocumentReference and ImagingStudy mappers."""

from __future__ import annotations

from typing import Any

from core.domain import ImagingStudy, LabRange, Note, Observation
from tools.fhir.bundle import Entry
from tools.fhir.codes import LOINC, UCUM, first_known
from tools.fhir.context import ParseContext
from tools.fhir.locators import LocatorError, instance_locators, resolve_locator
from tools.fhir.values import (
    codings,
    concept_text,
    decode_attachment,
    first_code,
    period_start,
    to_datetime,
    to_float,
)
from tools.resolve.labs import LabResolution, range_from_text, resolve_result

# Quantities that may legitimately be negative: base excess (LOINC 11555-0 blood, 1925-7
# arterial, 1927-3 venous) and any value in degrees. Every other ward analyte is a concentration,
# count, activity, pressure or rate, for which a negative number is not a measurement.
_MAY_BE_NEGATIVE = frozenset({"11555-0", "1925-7", "1927-3"})


def _value(holder: Any) -> tuple[float | None, str, str]:
    """(numeric value, UCUM unit, text value) of an Observation or component ``value[x]``."""
    if holder.valueQuantity is not None:
        value, unit = _quantity(holder.valueQuantity)
        return value, unit, ""
    if holder.valueInteger is not None:
        return float(holder.valueInteger), "", ""
    if holder.valueCodeableConcept is not None:
        return None, "", concept_text(holder.valueCodeableConcept)
    for name in ("valueString", "valueBoolean", "valueDateTime"):
        v = getattr(holder, name, None)
        if v is not None:
            return None, "", str(v)
    if holder.dataAbsentReason is not None:
        return None, "", f"(absent: {concept_text(holder.dataAbsentReason)})"
    return None, "", ""


def _quantity(q: Any) -> tuple[float | None, str]:
    if q is None:
        return None, ""
    unit = q.code if q.code and (q.system in (None, UCUM)) else (q.unit or q.code or "")
    return to_float(q.value), str(unit)


def _lab_range(entry: Entry, ctx: ParseContext, holder: Any, path: str) -> LabRange | None:
    """The laboratory's normal range for this result: the first ``referenceRange`` that is of
    type normal (or untyped) and not restricted to a population (``appliesTo``, ``age``); one
    whose bounds contradict each other is reported as an issue and not used."""
    for i, given in enumerate(holder.referenceRange or ()):
        meaning = first_code(given.type) if given.type is not None else ""
        if meaning not in ("", "normal") or given.appliesTo or given.age is not None:
            continue
        low, low_unit = _quantity(given.low)
        high, high_unit = _quantity(given.high)
        where = f"{path}.referenceRange[{i}]"
        if low is not None and high is not None and low_unit != high_unit:
            ctx.issue(entry.ref, "invalid_range", f"bounds in {low_unit} and {high_unit}", where)
            continue
        if low is not None and high is not None and low > high:
            ctx.issue(entry.ref, "invalid_range", f"low {low:g} above high {high:g}", where)
            continue
        if low is None and high is None:
            # Many laboratories send the range as text only ("0-220", "<5", "3.5 - 5.2").
            parsed = range_from_text(given.text or "")
            if parsed is None:
                continue
            low, high = parsed
        return LabRange(low=low, high=high, unit=low_unit or high_unit, text=given.text or "")
    return None


def _resolved(
    entry: Entry, ctx: ParseContext, codes: tuple[Any, ...], unit: str, path: str
) -> LabResolution | None:
    """The code our checks use for this result (``tools.resolve.labs``); a unit read as another
    is said once per analyte."""
    resolution = resolve_result(codes, unit)
    if resolution is not None and resolution.reported_unit:
        ctx.issue_once(
            f"unit:{resolution.analyte}:{resolution.reported_unit}",
            entry.ref,
            "unit_assumed",
            f"{resolution.analyte} reported in {resolution.reported_unit or '(no unit)'}: read as "
            f"{resolution.unit}, the unit its LOINC code defines (said once for every such result)",
            f"{path}.valueQuantity.unit",
        )
    return resolution


def _one(
    entry: Entry, ctx: ParseContext, holder: Any, path: str, base: dict[str, Any]
) -> Observation:
    codes = codings(holder.code)
    known = first_known(codes, LOINC)
    if known is None:
        ctx.issue(entry.ref, "unknown_code", "no valid LOINC code: kept as is", f"{path}.code")
    value, unit, text = _value(holder)
    resolution = _resolved(entry, ctx, codes, unit, path) if known is not None else None
    if value is not None and value < 0 and (known is None or known.code not in _MAY_BE_NEGATIVE):
        ctx.issue(
            entry.ref,
            "impossible_value",
            f"negative value {value:g} {unit} for {concept_text(holder.code)}: not a measurement",
            f"{path}.valueQuantity.value",
        )
    return Observation(
        ref=entry.ref,
        loinc=resolution.loinc if resolution else (known.code if known else ""),
        display=concept_text(holder.code) or "(uncoded observation)",
        value=value,
        value_text=text,
        unit=resolution.unit if resolution else unit,
        analyte=resolution.analyte if resolution else "",
        reported_loinc=resolution.reported_loinc if resolution else "",
        reported_unit=resolution.reported_unit if resolution else "",
        unknown_code=known is None,
        codings=codes,
        lab_range=_lab_range(entry, ctx, holder, path),
        lab_interpretation=next((first_code(c) for c in holder.interpretation or ()), ""),
        **base,
    )


def observations(entry: Entry, ctx: ParseContext) -> list[Observation]:
    """One Observation, plus one per component (blood pressure: systolic and diastolic), all
    citing the same resource; a component carries its parent's LOINC in ``panel``."""
    r = entry.resource
    when = to_datetime(r.effectiveDateTime) or period_start(r.effectivePeriod)
    when = when or to_datetime(r.effectiveInstant) or to_datetime(r.issued)
    base: dict[str, Any] = {
        "effective": ctx.checked_date(when, entry.ref, "Observation.effective[x]"),
        "category": next((first_code(c) for c in r.category or ()), ""),
        "status": r.status or "",
    }
    out: list[Observation] = []
    parent_value = _value(r)
    if not r.component or parent_value != (None, "", ""):
        out.append(_one(entry, ctx, r, "Observation", base))
    parent_loinc = first_known(codings(r.code), LOINC)
    for i, comp in enumerate(r.component or ()):
        comp_base = {**base, "panel": parent_loinc.code if parent_loinc else ""}
        out.append(_one(entry, ctx, comp, f"Observation.component[{i}]", comp_base))
    return out


def document_note(entry: Entry, ctx: ParseContext) -> Note:
    r = entry.resource
    texts: list[str] = []
    language = str(r.language or "")
    for i, content in enumerate(r.content or ()):
        att = content.attachment
        text = decode_attachment(att, f"{entry.path}.content[{i}].attachment.data")
        if text is None:
            ctx.issue(
                entry.ref,
                "missing_value",
                f"attachment {i} has no inline text ({att.contentType or 'no content type'})",
                f"DocumentReference.content[{i}].attachment",
            )
            continue
        texts.append(text)
        language = language or str(att.language or "")
    when = to_datetime(r.date) or (period_start(r.context.period) if r.context else None)
    return Note(
        ref=entry.ref,
        title=str(r.description or "") or concept_text(r.type),
        text="\n\n".join(texts),
        date=ctx.checked_date(when, entry.ref, "DocumentReference.date"),
        author=next((str(a.display) for a in r.author or () if a.display), ""),
        language=language,
        category="note",
    )


def report_note(entry: Entry, ctx: ParseContext) -> Note | None:
    """A DiagnosticReport's conclusion (and any inline text form) as a note; a lab panel with
    neither is only a grouping of Observations, which are parsed on their own."""
    r = entry.resource
    texts = [str(r.conclusion)] if r.conclusion else []
    for i, att in enumerate(r.presentedForm or ()):
        text = decode_attachment(att, f"{entry.path}.presentedForm[{i}].data")
        if text:
            texts.append(text)
    if not texts:
        return None
    when = to_datetime(r.effectiveDateTime) or period_start(r.effectivePeriod)
    when = when or to_datetime(r.issued)
    return Note(
        ref=entry.ref,
        title=concept_text(r.code),
        text="\n\n".join(texts),
        date=ctx.checked_date(when, entry.ref, "DiagnosticReport.effective[x]"),
        author=next((str(p.display) for p in r.performer or () if p.display), ""),
        language=str(r.language or ""),
        category="report",
    )


def imaging_study(entry: Entry, ctx: ParseContext) -> ImagingStudy:
    r = entry.resource
    series = list(r.series or ())
    first = series[0] if series else None
    modality = first.modality.code if first is not None and first.modality else ""
    if not modality and r.modality:
        modality = r.modality[0].code or ""
    locators = instance_locators(r)
    files: list[str] = []
    for loc in locators:
        try:
            files.append(str(resolve_locator(loc, ctx.data_dir)))
        except LocatorError as exc:
            ctx.issue(entry.ref, "unresolved_file", str(exc), "ImagingStudy.series.instance")
    return ImagingStudy(
        ref=entry.ref,
        modality=str(modality),
        description=str(r.description or "") or str(first.description or "" if first else ""),
        started=ctx.checked_date(to_datetime(r.started), entry.ref, "ImagingStudy.started"),
        body_site=concept_text(first.bodySite) if first is not None else "",
        laterality=concept_text(first.laterality) if first is not None else "",
        dicom_files=tuple(files),
        dicom_uris=tuple(locators),
    )
