"""The deterministic safety net: findings computed by tools and the KG, never by the model.

Lab flags and trends (``tools.labs``), KDIGO AKI staging and CKD-EPI 2021 eGFR
(``tools.calculators``), bedside scores (NEWS2, qSOFA, CURB-65, HAS-BLED: ``agents.scores``,
``agents.bleeding``), and the knowledge graph's interactions, contraindications and allergy
conflicts. These always run and always reach the answer (``origin='rule'``).
"""

from __future__ import annotations

import statistics
from datetime import datetime

from agents.kg_checks import kg_findings
from agents.record_status import record_status_findings
from agents.scores import (
    curb65_finding,
    drawn_together,
    news2_finding,
    qsofa_finding,
    record_calculation_findings,
)
from core.domain import Citation, Finding, Observation, PatientRecord, Severity
from core.errors import InvalidInput
from core.logging import get_logger
from kg.store import GraphStore
from tools.calculators.aki import AkiInput, CreatinineSample, aki_stage
from tools.calculators.base import CalcResult
from tools.calculators.chemistry import ElectrolyteInput, anion_gap
from tools.calculators.renal import EgfrInput, egfr_ckd_epi_2021
from tools.labs.findings import lab_findings

log = get_logger(__name__)

# LOINC serum/plasma creatinine: 2160-0 (mass/volume, mg/dL), 14682-9 (moles/volume, umol/L).
CREATININE = {"2160-0": "mg/dL", "14682-9": "umol/L"}
_AKI_SEVERITY = {1: Severity.moderate, 2: Severity.high, 3: Severity.critical}


def _creatinine_series(record: PatientRecord) -> tuple[list[Observation], str]:
    for loinc, unit in CREATININE.items():
        series = [
            o for o in record.observations
            if o.loinc == loinc and o.value is not None and o.value > 0 and o.effective
            and o.unit.replace("µ", "u") == unit
        ]  # fmt: skip
        if series:
            return sorted(
                series, key=lambda o: o.effective.timestamp() if o.effective else 0.0
            ), unit
    return [], "mg/dL"


def reference_baseline(series: list[Observation]) -> float | None:
    """A known baseline to stage against, or ``None`` to let the calculator use its own.

    NHS England Patient Safety Alert NHS/PSA/D/2014/010 (AKI detection algorithm): RV1 is the
    lowest creatinine in the 7 days before the current result C1, RV2 the median of results
    8-365 days before it; the ratio that counts is C1 over the lower of the two. The calculator
    applies RV1 itself, so RV2 is passed on only when it is the lower one.
    """
    latest = series[-1].effective
    if latest is None:
        return None
    dated = [(o.value, (latest - o.effective).days) for o in series[:-1] if o.effective and o.value]
    older = [value for value, age in dated if 8 <= age <= 365]
    if not older:
        return None
    rv2 = statistics.median(older)
    recent = [value for value, age in dated if age <= 7]
    return rv2 if not recent or rv2 < min(recent) else None


def aki_finding(record: PatientRecord) -> Finding | None:
    series, unit = _creatinine_series(record)
    if len(series) < 2:
        return None
    samples = tuple(
        CreatinineSample(time=o.effective, value=o.value, ref=o.ref)
        for o in series
        if o.effective is not None and o.value is not None
    )
    baseline = reference_baseline(series)
    try:
        result = aki_stage(
            AkiInput(creatinine=samples, creatinine_unit=unit, baseline_creatinine=baseline)
        )
    except InvalidInput as err:
        log.warning("rules.aki.skipped", reason=str(err)[:200])
        return None
    stage = int(result.value)
    if stage == 0:
        return None
    refs = result.evidence or tuple(o.ref for o in series)
    return Finding(
        id="aki_stage",
        kind="aki_stage",
        severity=_AKI_SEVERITY[stage],
        summary=result.interpretation,
        labs=tuple(sorted({o.loinc for o in series})),
        citations=(*(Citation.fhir(r) for r in refs), result.citation()),
        source=result.source,
    )


def egfr_finding(record: PatientRecord, now: datetime) -> Finding | None:
    series, unit = _creatinine_series(record)
    age = record.patient.age_on(now.date())
    if not series or age is None or age < 18 or record.patient.sex not in ("male", "female"):
        return None
    latest = series[-1]
    assert latest.value is not None  # filtered in _creatinine_series
    try:
        result = egfr_ckd_epi_2021(
            EgfrInput(
                creatinine=latest.value, creatinine_unit=unit, age=age, sex=record.patient.sex
            )
        )
    except InvalidInput as err:
        log.warning("rules.egfr.skipped", reason=str(err)[:200])
        return None
    severity = (
        Severity.info
        if result.value >= 60
        else Severity.moderate
        if result.value >= 30
        else Severity.high
    )
    return Finding(
        id="egfr_ckd_epi_2021",
        kind="calculation",
        severity=severity,
        summary=(
            f"eGFR (CKD-EPI 2021) {result.value:.0f} mL/min/1.73 m², category {result.category}"
        ),
        labs=(latest.loinc,),
        citations=(Citation.fhir(latest.ref), result.citation()),
        source=result.source,
    )


# LOINC: sodium 2951-2, chloride 2075-0, bicarbonate 1963-8 or total CO2 2028-9 (the serum
# chemistry's 'bicarbonate', which the anion gap of Emmett & Narins 1977 uses); all mmol/L.
ELECTROLYTES = {"2951-2": "sodium", "2075-0": "chloride", "1963-8": "bicarbonate"}
ELECTROLYTES_CO2 = {"2951-2": "sodium", "2075-0": "chloride", "2028-9": "bicarbonate"}


def anion_gap_result(record: PatientRecord) -> tuple[CalcResult, dict[str, Observation]] | None:
    """The widest anion gap among the sets of Na, Cl and HCO3 (or total CO2) drawn together."""
    worst = None
    units = ("mmol/L", "meq/L", "mEq/L")
    sets = [
        *drawn_together(record, ELECTROLYTES, units=units),
        *drawn_together(record, ELECTROLYTES_CO2, units=units),
    ]
    for drawn in sets:
        try:
            result = anion_gap(ElectrolyteInput(**{k: o.value for k, o in drawn.items()}))
        except InvalidInput:
            continue
        if worst is None or result.value > worst[0].value:
            worst = (result, drawn)
    return worst


def anion_gap_finding(record: PatientRecord) -> Finding | None:
    """The widest anion gap, when it is outside the reference interval."""
    worst = anion_gap_result(record)
    if worst is None or worst[0].category == "normal":
        return None
    result, drawn = worst
    return Finding(
        id="anion_gap",
        kind="calculation",
        severity=Severity.moderate if result.category == "high" else Severity.low,
        summary=result.interpretation,
        labs=tuple(sorted(o.loinc for o in drawn.values())),
        citations=(*(Citation.fhir(o.ref) for o in drawn.values()), result.citation()),
        source=result.source,
    )


def lab_rule_findings(record: PatientRecord, now: datetime) -> list[Finding]:
    found = [
        f.model_copy(update={"specialist": "labs"})
        for f in (*record_status_findings(record, now), *lab_findings(record))
    ]
    gap = anion_gap_result(record)
    computed = (
        aki_finding(record),
        egfr_finding(record, now),
        anion_gap_finding(record),
        news2_finding(record),
        qsofa_finding(record),
        curb65_finding(record),
        *record_calculation_findings(
            record, anion_gap=gap[0] if gap and gap[0].category == "normal" else None
        ),
    )
    for extra in computed:
        if extra is not None:
            found.append(extra.model_copy(update={"specialist": "labs"}))
    return found


async def kg_rule_findings(store: GraphStore, record: PatientRecord) -> list[Finding]:
    """Interactions, contraindications, allergy conflicts, monitoring, recommendations (KG)."""
    return await kg_findings(store, record)
