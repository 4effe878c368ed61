"""Knowledge-graph checks for the guideline checker: the patient's drugs against the KG.

Current and proposed medications resolve to KG ingredients through ``tools.resolve.medications``
(codes at any level, product names, combinations, brands; a fuzzy match is said to be one), and
anything unresolved is reported with why, never dropped. Then: interactions among them,
contraindications against the problem list, the latest labs (converted to the KG's unit for that
LOINC) and pregnancy,
allergy cross-reactivity, missing monitoring and applicable guideline recommendations. Each KG
fact becomes a rule finding citing the KG id, its source, and the patient facts that triggered it.
The store's queries are blocking (embedded engine or driver), so they run in a worker thread.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from agents.bleeding import has_bled_finding
from core.domain import Citation, Finding, Observation, PatientRecord, Severity
from core.errors import InvalidInput
from kg.models import Interaction, LabTest
from kg.store import GraphStore
from tools.labs.flags import observation_time
from tools.labs.ranges import same_analyte
from tools.labs.units import convert
from tools.notes import NoteReading, read_record
from tools.resolve.allergies import active_allergens
from tools.resolve.conditions import current_condition_codes
from tools.resolve.medications import MedicationResolution, resolve_record
from tools.resolve.pregnancy import pregnancy_evidence

_SEVERITY = {
    "contraindicated": Severity.critical,
    "major": Severity.high,
    "moderate": Severity.moderate,
    "minor": Severity.low,
    "dose-adjust": Severity.high,
    "caution": Severity.moderate,
}
DOSE_ADJUSTMENT = "dose_adjustment"
"""Id prefix of a contraindication finding whose fix is a new dose (``agents.approvals``)."""
SPECIALIST = "guideline"


@dataclass
class PatientFacts:
    """The patient's side of every KG query, with the FHIR refs that back each value."""

    drug_refs: dict[str, list[str]] = field(default_factory=dict)
    """KG drug id -> the MedicationRequest/Statement refs that resolved to it."""
    unresolved: list[str] = field(default_factory=list)
    """Medications (or parts of one) not read, each with why: shown, never dropped."""
    medications: list[MedicationResolution] = field(default_factory=list)
    fuzzy: dict[str, str] = field(default_factory=dict)
    """KG drug name -> what it was matched approximately from (to be verified)."""
    labs: dict[str, float] = field(default_factory=dict)
    """LOINC -> the latest result, in the unit of that code's KG LabTest."""
    lab_refs: dict[str, str] = field(default_factory=dict)
    lab_tests: dict[str, LabTest] = field(default_factory=dict)
    """LOINC -> its KG LabTest (analyte and unit of ``labs``)."""
    lab_times: dict[str, datetime] = field(default_factory=dict)
    conditions: dict[str, str] = field(default_factory=dict)
    """ICD-10-CM code (from ICD-10 or SNOMED CT, current problems only) -> Condition ref;
    "pregnant" -> the fact that says so."""
    allergies: dict[str, str] = field(default_factory=dict)
    """substance, as the allergy checks read it -> AllergyIntolerance ref (active ones only)."""
    acb: dict[str, tuple[str, int]] = field(default_factory=dict)
    """KG drug id -> (name, Anticholinergic Cognitive Burden score)."""
    classes: dict[str, frozenset[str]] = field(default_factory=dict)
    """KG drug id -> its KG classes (ids)."""
    notes: NoteReading | None = None
    """What the notes say that the codes do not (``tools.notes``)."""

    def icd_codes(self) -> list[str]:
        return [code for code in self.conditions if code != "pregnant"]


Implicated = dict[str, set[str]]
"""KG drug id -> LOINC codes of the patient's results past one of its lab thresholds: what the
contraindication check finds and the interaction check reads (``_all_findings``)."""


class KgFact(Protocol):
    """What a finding cites of a KG fact (an interaction, contraindication, monitoring...)."""

    @property
    def id(self) -> str: ...
    @property
    def source(self) -> str: ...


def _resolve(store: GraphStore, record: PatientRecord, facts: PatientFacts) -> None:
    """The current medications' KG ingredients (``tools.resolve.medications``): every ingredient
    of a combination counts; what is not read, or read only approximately, is kept to say so."""
    facts.medications = resolve_record(store, record)
    for med in facts.medications:
        if not med.resolved:
            facts.unresolved.append(f"{med.text} ({med.why})")
        facts.unresolved.extend(f"{part} in {med.text}" for part in med.unresolved)
        for drug in med.ingredients:
            facts.drug_refs.setdefault(drug.drug_id, []).append(med.ref)
            facts.acb[drug.drug_id] = (drug.name, drug.anticholinergic_burden)
            facts.classes[drug.drug_id] = frozenset(drug.classes)
            if drug.fuzzy:
                facts.fuzzy[drug.name] = f"'{med.text}' ({drug.via})"


def _labs_in_kg_units(store: GraphStore, record: PatientRecord, facts: PatientFacts) -> None:
    """Each test's latest result in the KG's unit. Of two results of one test at the same
    moment (two panels, one in mL/min/1.73 m2 and one in mL/min), the more abnormal one stands,
    as for the lab flags (``tools.labs.findings``): the safety net errs to warn."""
    for loinc, group in _latest_moment_results(record).items():
        test = store.lab_test(loinc)
        if test is None:
            continue
        chosen: tuple[float, float, Observation] | None = None
        for obs in group:
            assert obs.value is not None  # numeric results only (_latest_moment_results)
            try:
                value = (
                    obs.value
                    if obs.unit == test.unit
                    else convert(obs.value, obs.unit, test.unit, loinc)
                )
            except InvalidInput:
                continue  # a unit we cannot convert is reported by the lab interpreter
            beyond = _beyond_limits(test, value)
            if chosen is None or beyond >= chosen[1]:  # ties: the later one in the record
                chosen = (value, beyond, obs)
        if chosen is None:
            continue
        value, _, obs = chosen
        facts.labs[loinc], facts.lab_refs[loinc] = value, obs.ref
        facts.lab_tests[loinc], facts.lab_times[loinc] = test, observation_time(obs)


def _latest_moment_results(record: PatientRecord) -> dict[str, list[Observation]]:
    """LOINC -> every numeric result of that code at its latest moment, in record order."""
    latest = {code: obs for code, obs in record.latest_results().items() if obs.loinc}
    out: dict[str, list[Observation]] = {code: [] for code in latest}  # the KG is asked in order
    for obs in record.observations:
        at_latest = obs.loinc in latest and obs.effective == latest[obs.loinc].effective
        if at_latest and obs.value is not None:
            out[obs.loinc].append(obs)
    return out


def _beyond_limits(test: LabTest, value: float) -> float:
    """How far ``value`` lies outside the KG test's limits, relative to the limit (0 inside)."""
    below = (test.low - value) / abs(test.low) if test.low else 0.0
    above = (value - test.high) / abs(test.high) if test.high else 0.0
    return max(below, above, 0.0)


def patient_facts(store: GraphStore, record: PatientRecord) -> PatientFacts:
    facts = PatientFacts()
    _resolve(store, record, facts)
    _labs_in_kg_units(store, record, facts)
    facts.conditions = current_condition_codes(record.problems)
    pregnancy = pregnancy_evidence(record)
    if pregnancy:  # matched as "pregnant" by the KG's pregnancy facts (kg.matching)
        facts.conditions.setdefault("pregnant", pregnancy[0].ref)
    facts.allergies = active_allergens(record.allergies)
    facts.notes = read_record(record)
    facts.allergies |= facts.notes.uncoded_allergies()  # cited as DocumentReference/x
    noted = facts.notes.uncoded_pregnancy()
    if noted is not None:  # a pregnancy only a note affirms meets the same checks, cited to it
        facts.conditions.setdefault("pregnant", noted.note.ref)
    return facts


def _finding(
    kind: str, fact: KgFact, level: str, summary: str, *, cites: list[Citation], drugs: list[str]
) -> Finding:
    return Finding(
        id=f"{kind}:{fact.id}",
        kind=kind,
        severity=_SEVERITY.get(level, Severity.moderate),
        summary=summary,
        drugs=tuple(drugs),
        citations=(Citation(kind="kg", ref=fact.id), *dict.fromkeys(cites)),
        source=fact.source,
        specialist=SPECIALIST,
    )


def _fhir(refs: list[str]) -> list[Citation]:
    return [Citation.fhir(r) for r in refs]


_ONE_STEP_UP = {
    Severity.low: Severity.moderate,
    Severity.moderate: Severity.high,
    Severity.high: Severity.critical,
}


def _interactions(store: GraphStore, facts: PatientFacts, implicated: Implicated) -> list[Finding]:
    """Interactions among the patient's drugs, each with its drugs' medication refs.

    An interaction whose effect the patient's results already show is "under way": the finding
    says so, cites the result and goes one severity step up. Shown how: the KG's manifest of the
    interaction (``interaction_manifests.yaml``: INR above range on warfarin + clarithromycin, a
    potassium >= 5.5 on an ACE inhibitor + spironolactone...) met by the latest result of that
    analyte; or, for interactions without one, both drugs already past a lab threshold of their
    own on the same result (``implicated``, what ``_contraindications`` found).
    """
    out = []
    for fx in store.interactions_among(list(facts.drug_refs)):
        # a three-drug fact (the "triple whammy") names its third drug in also_present
        ids = [fx.drug_a, fx.drug_b, *fx.also_present]
        names = [
            fx.drug_a_name,
            fx.drug_b_name,
            *(facts.acb.get(d, (d, 0))[0] for d in fx.also_present),
        ]
        cites = _fhir([ref for d in ids for ref in facts.drug_refs.get(d, [])])
        text = f"Interaction {' + '.join(names)} ({fx.severity}): {fx.effect}. {fx.management}"
        finding = _finding("interaction", fx, fx.severity, text, cites=cites, drugs=names)
        under_way = _manifest_shown(fx, facts) or _both_past_thresholds(fx, facts, implicated)
        if under_way is not None:
            why, loincs = under_way
            finding = finding.model_copy(
                update={
                    "severity": _ONE_STEP_UP.get(finding.severity, finding.severity),
                    "summary": f"{text} Effect likely under way: {why}.",
                    "labs": tuple(loincs),
                    "citations": (
                        *finding.citations,
                        *_fhir([facts.lab_refs[loinc] for loinc in loincs]),
                    ),
                }
            )
        out.append(finding)
    return out


def _manifest_shown(fx: Interaction, facts: PatientFacts) -> tuple[str, list[str]] | None:
    """The latest result of the interaction's manifest analyte, if it meets the manifest."""
    manifest = fx.manifest
    if manifest is None:
        return None
    threshold = manifest.threshold
    results = [loinc for loinc, t in facts.lab_tests.items() if t.analyte == threshold.analyte]
    if not results:
        return None
    latest = max(results, key=lambda loinc: facts.lab_times[loinc])
    unit = facts.lab_tests[latest].unit
    try:
        value = facts.labs[latest]
        value = value if unit == threshold.unit else convert(value, unit, threshold.unit, latest)
    except InvalidInput:
        return None  # a unit we cannot compare: the inference below may still apply
    if not threshold.holds(value):
        return None
    shown = f"{threshold.analyte} {value:g} {threshold.unit}".strip()
    why = f"{manifest.meaning}, {shown} ({threshold.describe()}; {manifest.source})"
    return why, [latest]


def _both_past_thresholds(
    fx: Interaction, facts: PatientFacts, implicated: Implicated
) -> tuple[str, list[str]] | None:
    shared = sorted(implicated.get(fx.drug_a, set()) & implicated.get(fx.drug_b, set()))
    if not shared:
        return None
    results = ", ".join(f"{loinc} = {facts.labs[loinc]:g}" for loinc in shared)
    why = f"both drugs are already past their thresholds on the patient's result ({results})"
    return why, shared


def _contraindications(store: GraphStore, facts: PatientFacts) -> tuple[list[Finding], Implicated]:
    """Contraindication findings, and which drugs the patient's results already implicate."""
    out = []
    implicated: Implicated = {}
    # pregnant is passed only when true: the call is otherwise the one recorded KG transcripts
    # (evals/golden) replay
    pregnant = {"pregnant": True} if "pregnant" in facts.conditions else {}
    found = store.contraindications(
        list(facts.drug_refs), conditions=facts.icd_codes(), labs=facts.labs,
        allergies=list(facts.allergies), **pregnant,
    )  # fmt: skip
    for cx in found:
        if cx.kind == "allergy":
            continue  # reported, with more detail, by allergy_conflicts
        refs = facts.drug_refs.get(cx.drug, [])
        if cx.loinc and cx.loinc in facts.lab_refs:
            refs = [*refs, facts.lab_refs[cx.loinc]]
            implicated.setdefault(cx.drug, set()).add(cx.loinc)
        if cx.matched_condition and cx.matched_condition in facts.conditions:
            refs = [*refs, facts.conditions[cx.matched_condition]]
        observed = f" (patient: {cx.observed:g})" if cx.observed is not None else ""
        reason = cx.reason.rstrip(".")
        level = "dose adjustment needed" if cx.level == "dose-adjust" else cx.level
        text = f"{cx.drug_name}: {level} — {reason}{observed}. {cx.management}".strip()
        noted = facts.conditions.get(cx.matched_condition or "", "")
        if cx.matched_condition == "pregnant" and noted.startswith("DocumentReference/"):
            text = f"{text} Pregnancy from note {noted}, not coded: confirm it."
        finding = _finding(
            "contraindication", cx, cx.level, text, cites=_fhir(refs), drugs=[cx.drug_name]
        )
        if cx.level == "dose-adjust":
            finding = finding.model_copy(
                update={"id": f"{DOSE_ADJUSTMENT}:{cx.id}", "remedy": "adjust_dose"}
            )
        out.append(finding)
    return out, implicated


def _allergy_conflicts(store: GraphStore, facts: PatientFacts) -> list[Finding]:
    out = []
    for ax in store.allergy_conflicts(list(facts.drug_refs), list(facts.allergies)).conflicts:
        refs = facts.drug_refs.get(ax.drug, []) + [
            ref for substance, ref in facts.allergies.items() if substance == ax.allergy
        ]
        note = facts.allergies.get(ax.allergy, "")
        written = (
            f"'{ax.allergy}' allergy from note {note}, not coded"
            if note.startswith("DocumentReference/")
            else f"recorded '{ax.allergy}' allergy"
        )
        text = (
            f"Allergy conflict: {ax.drug_name} with {written} "
            f"({ax.relation.replace('_', ' ')}): {ax.risk}. {ax.management}"
        )
        level = "contraindicated" if ax.level == "contraindicated" else "caution"
        finding = _finding(
            "allergy_conflict", ax, level, text, cites=_fhir(refs), drugs=[ax.drug_name]
        )
        if ax.level == "contraindicated":
            finding = finding.model_copy(update={"severity": Severity.critical})
        out.append(finding)
    return out


def _monitoring(store: GraphStore, record: PatientRecord, facts: PatientFacts) -> list[Finding]:
    """Each monitoring requirement: 'missing_monitoring' when never measured (under the KG's code
    or any code of the same analyte: creatinine in umol/L is creatinine), else 'monitoring'."""
    latest = record.latest_results()
    out = []
    for mon in store.monitoring_for(list(facts.drug_refs)):
        if not mon.applies_to(facts.icd_codes()):
            continue  # e.g. QDS glucose on steroids is for diabetes; not this patient
        cites = _fhir(facts.drug_refs.get(mon.drug, []))
        measured = [latest[code] for code in same_analyte(mon.loinc) if code in latest]
        last = max(measured, key=observation_time) if measured else None
        if last is None:
            text = f"{mon.drug_name} needs {mon.test} ({mon.frequency}): none on record. "
            finding = _finding(
                "missing_monitoring", mon, "minor", text + mon.rationale, cites=cites,
                drugs=[mon.drug_name],
            )  # fmt: skip
        else:
            when = last.effective.date().isoformat() if last.effective else "date unknown"
            text = f"{mon.drug_name}: monitor {mon.test} ({mon.frequency}); last {when}."
            finding = _finding(
                "monitoring", mon, "minor", text, cites=[*cites, Citation.fhir(last.ref)],
                drugs=[mon.drug_name],
            ).model_copy(update={"severity": Severity.info})  # fmt: skip
        out.append(finding)
    return out


# Anticholinergic Cognitive Burden scale: a total of 3 or more is clinically relevant
# (Boustani M et al., Aging Health 2008;4:311-20; each drug's score is on its KG node).
ACB_THRESHOLD = 3


def _anticholinergic_burden(facts: PatientFacts) -> list[Finding]:
    scored = {d: v for d, v in facts.acb.items() if v[1] > 0 and d in facts.drug_refs}
    total = sum(score for _, score in scored.values())
    if total < ACB_THRESHOLD:
        return []
    parts = ", ".join(f"{name} {score}" for name, score in scored.values())
    refs = [ref for drug_id in scored for ref in facts.drug_refs[drug_id]]
    return [
        Finding(
            id="anticholinergic_burden",
            kind="anticholinergic_burden",
            severity=Severity.high,
            summary=f"Anticholinergic burden (ACB) {total} (≥ {ACB_THRESHOLD}): {parts}",
            drugs=tuple(name for name, _ in scored.values()),
            citations=(*(Citation(kind="kg", ref=d) for d in scored), *_fhir(refs)),
            source="Boustani M et al. Aging Health 2008;4:311-20 (ACB scale)",
            specialist=SPECIALIST,
        )
    ]


def _bleeding_risk(record: PatientRecord, facts: PatientFacts) -> list[Finding]:
    """HAS-BLED (atrial fibrillation only), dated at the record's latest result."""
    dated = [o.effective for o in record.observations if o.effective is not None]
    if not dated:
        return []
    found = has_bled_finding(
        record,
        drug_classes={d: facts.classes.get(d, frozenset()) for d in facts.drug_refs},
        drug_refs=facts.drug_refs,
        at=max(dated),
    )
    return [found.model_copy(update={"specialist": SPECIALIST})] if found else []


def _recommendations(store: GraphStore, facts: PatientFacts) -> list[Finding]:
    out = []
    for rec in store.recommendations_for(facts.icd_codes(), facts.labs):
        refs = [facts.conditions[c] for c in rec.matched_conditions if c in facts.conditions]
        refs += [facts.lab_refs[c] for c in rec.matched_labs if c in facts.lab_refs]
        g = rec.guideline
        # the guideline's name once: "KDIGO Clinical Practice Guideline..." already names KDIGO
        name = g.title if g.org.lower() in g.title.lower() else f"{g.org} {g.title}"
        text = f"{name} ({g.year}): {rec.text} [{rec.strength}, {rec.evidence}]"
        finding = _finding("recommendation", rec, "minor", text, cites=_fhir(refs), drugs=[])
        out.append(finding.model_copy(update={"severity": Severity.info}))
    return out


def _unresolved(facts: PatientFacts) -> list[Finding]:
    out = []
    missing = [m for m in facts.medications if not m.resolved or m.unresolved]
    if missing:
        out.append(
            Finding(
                id="kg:unresolved-drugs",
                kind="unresolved_drug",
                severity=Severity.info,
                summary="Not found in the knowledge graph, so not checked: "
                + "; ".join(facts.unresolved),
                citations=tuple(_fhir([m.ref for m in missing])),
                source="wardround medication resolution (tools.resolve.medications)",
                specialist=SPECIALIST,
            )
        )
    approximate = [m for m in facts.medications if any(i.fuzzy for i in m.ingredients)]
    if approximate:
        read = "; ".join(f"{name} from {how}" for name, how in facts.fuzzy.items())
        out.append(
            Finding(
                id="kg:fuzzy-drugs",
                kind="unresolved_drug",
                severity=Severity.low,
                summary=f"Matched approximately, not certainly (verify): {read}",
                drugs=tuple(facts.fuzzy),
                citations=tuple(_fhir([m.ref for m in approximate])),
                source="wardround medication resolution (tools.resolve.medications)",
                specialist=SPECIALIST,
            )
        )
    return out


def _marked_fuzzy(findings: list[Finding], facts: PatientFacts) -> list[Finding]:
    """A finding about a drug matched only approximately says so: never silently certain."""
    out = []
    for finding in findings:
        fuzzy = [d for d in finding.drugs if d in facts.fuzzy]
        if not fuzzy or finding.id == "kg:fuzzy-drugs":
            out.append(finding)
            continue
        note = "; ".join(f"{d} matched approximately from {facts.fuzzy[d]}" for d in fuzzy)
        out.append(finding.model_copy(update={"summary": f"{finding.summary} [verify: {note}]"}))
    return out


def _unique_ids(findings: list[Finding]) -> list[Finding]:
    """A class-level fact met by several drugs (one QT fact, three QT-prolonging drugs) gives one
    finding per drug or pair; each then carries its drugs in its id (``fact@drug+drug``), so a
    card, a proposal or a reader names one finding, not three."""
    seen = Counter(f.id for f in findings)
    return [
        f.model_copy(update={"id": f"{f.id}@{'+'.join(f.drugs)}"}) if seen[f.id] > 1 else f
        for f in findings
    ]


def _all_findings(store: GraphStore, record: PatientRecord) -> list[Finding]:
    facts = patient_facts(store, record)
    contraindications, implicated = _contraindications(store, facts)
    found = _marked_fuzzy([
        *_interactions(store, facts, implicated),
        *contraindications,
        *_allergy_conflicts(store, facts),
        *_anticholinergic_burden(facts),
        *_bleeding_risk(record, facts),
        *_monitoring(store, record, facts),
        *_recommendations(store, facts),
        *_unresolved(facts),
        *(facts.notes.findings(n for n, _ in facts.acb.values()) if facts.notes else ()),
    ], facts)  # fmt: skip
    return _unique_ids(found)


async def kg_findings(store: GraphStore, record: PatientRecord) -> list[Finding]:
    return await asyncio.to_thread(_all_findings, store, record)
