"""Knowledge-graph checks for the guideline checker: the record's drugs against the KG.

The record's active and proposed medications are resolved to KG drugs (unresolved names are
reported, never dropped); then interactions among them, contraindications against the problem
list, latest labs and pregnancy, and allergy cross-reactivity are asked of the ``GraphStore``.
Each KG fact becomes a rule finding citing the KG id, its source, and the patient facts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.domain import Citation, Finding, PatientRecord, Severity

_SEVERITY = {
    "contraindicated": Severity.critical,
    "major": Severity.high,
    "moderate": Severity.moderate,
    "minor": Severity.low,
    "caution": Severity.moderate,
}


def severity_of(value: str) -> Severity:
    return _SEVERITY.get(value.lower(), Severity.moderate)


def _latest_labs(record: PatientRecord) -> tuple[dict[str, float], dict[str, str]]:
    values: dict[str, float] = {}
    refs: dict[str, str] = {}
    for obs in sorted(
        record.observations, key=lambda o: o.effective.timestamp() if o.effective else 0
    ):
        if obs.value is not None and obs.loinc:
            values[obs.loinc], refs[obs.loinc] = obs.value, obs.ref
    return values, refs


def _med_refs(record: PatientRecord) -> dict[str, str]:
    return {m.name.lower(): m.ref for m in record.active_medications()}


def _patient_cites(names: list[str], meds: dict[str, str]) -> tuple[Citation, ...]:
    out = []
    for name in names:
        for med_name, ref in meds.items():
            if name.lower() in med_name:
                out.append(Citation.fhir(ref))
    return tuple(dict.fromkeys(out))


def _fact(
    kind: str, fact: Any, summary: str, drugs: list[str], cites: tuple[Citation, ...]
) -> Finding:
    return Finding(
        id=f"{kind}:{fact.id}",
        kind=kind,
        severity=severity_of(getattr(fact, "severity", "moderate") or "moderate"),
        summary=summary,
        drugs=tuple(drugs),
        citations=(Citation(kind="kg", ref=fact.id), *cites),
        source=fact.source,
        specialist="guideline",
    )


async def kg_findings(store: Any, record: PatientRecord, now: datetime) -> list[Finding]:
    del now  # thresholds are evaluated on the latest values; kept for a future recency window
    meds = _med_refs(record)
    resolution = await _call(store.resolve_drugs, [m.name for m in record.active_medications()])
    drug_ids = [d.id for d in resolution.resolved]
    labs, lab_refs = _latest_labs(record)
    conditions = [c.code for p in record.problems for c in p.codings if c.code]
    allergies = [a.substance for a in record.allergies]
    findings: list[Finding] = []
    for fx in await _call(store.interactions_among, drug_ids):
        names = [fx.drug_a, fx.drug_b]
        text = (
            f"Interaction {fx.drug_a} + {fx.drug_b} ({fx.severity}): {fx.effect}. {fx.management}"
        )
        findings.append(_fact("interaction", fx, text, names, _patient_cites(names, meds)))
    for cx in await _call(store.contraindications, drug_ids, conditions, labs, allergies, False):
        cites = _patient_cites([cx.drug], meds) + tuple(
            Citation.fhir(lab_refs[code]) for code in getattr(cx, "labs", ()) if code in lab_refs
        )
        text = f"{cx.drug}: {cx.kind} — {cx.reason}"
        findings.append(_fact("contraindication", cx, text, [cx.drug], cites))
    for ax in await _call(store.allergy_conflicts, drug_ids, allergies):
        cites = _patient_cites([ax.drug], meds) + tuple(
            Citation.fhir(a.ref)
            for a in record.allergies
            if a.substance.lower() in ax.allergy.lower()
        )
        text = f"Allergy conflict: {ax.drug} vs documented {ax.allergy} allergy ({ax.reason})"
        findings.append(_fact("allergy_conflict", ax, text, [ax.drug], cites))
    if resolution.unresolved:
        findings.append(
            Finding(
                id="kg:unresolved",
                kind="unresolved_drug",
                severity=Severity.info,
                summary="Not found in the knowledge graph (not checked): "
                + ", ".join(resolution.unresolved),
                citations=_patient_cites(list(resolution.unresolved), meds),
                source="wardround knowledge graph",
                specialist="guideline",
            )
        )
    return findings


async def _call(fn: Any, *args: Any) -> Any:
    result = fn(*args)
    if hasattr(result, "__await__"):
        result = await result
    return result
