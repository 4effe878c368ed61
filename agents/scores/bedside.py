"""Bedside scores from the record: NEWS2, qSOFA and CURB-65.

Mentation is taken from coded data only (``agents.scores.inputs.mentation``): a Glasgow coma
score (LOINC 9269-2) near the vital signs, or an active problem of new confusion or delirium.
When neither is coded the patient is taken as alert, which makes NEWS2, qSOFA and CURB-65 lower
bounds, and the finding says so. A GCS below 15 counts as altered mentation (Sepsis-3's qSOFA
definition) and as new confusion for NEWS2 ('C' of ACVPU, RCP 2017) and CURB-65. Supplemental
oxygen is inferred from an inhaled-oxygen observation. SpO2 scale 1 is used: scale 2 needs a
clinician's prescribed 88-92% target (RCP NEWS2 2017, chart 1), which a record rarely codes.
"""

from __future__ import annotations

from agents.bedside import Charted, charted_consciousness, supplemental_oxygen
from agents.scores.inputs import (
    PNEUMONIA_ICD,
    UREA,
    VITALS,
    Mentation,
    _cites,
    _closest,
    _value,
    drawn_together,
    latest_vitals,
    mentation,
    problems_coded,
)
from core.domain import Citation, Finding, PatientRecord, Severity
from core.errors import InvalidInput
from core.logging import get_logger
from tools.calculators.news2 import News2Input, news2
from tools.calculators.sepsis import Curb65Input, QsofaInput, curb65, qsofa

log = get_logger(__name__)


_NEWS2_SEVERITY = {"low": Severity.low, "low-medium": Severity.moderate, "medium": Severity.high}
_CURB65_SEVERITY = {"low": Severity.low, "intermediate": Severity.moderate, "high": Severity.high}
ASSUMED = "consciousness not recorded: taken as alert (score is a lower bound)"


def _mentation_note(known: Mentation | None) -> str:
    if known is None:
        return ASSUMED
    return f"mentation from the record: {known.evidence}"


def _bedside_note(known: Mentation | None, acvpu: Charted | None, oxygen: Charted | None) -> str:
    mind = f"consciousness from the record: {acvpu.evidence}" if acvpu else _mentation_note(known)
    air = f"{oxygen.value} from the record: {oxygen.evidence}" if oxygen else "no oxygen charted"
    return f"{mind}; {air}"


def news2_finding(record: PatientRecord) -> Finding | None:
    v = latest_vitals(record)
    keys = ("rr", "spo2", "sbp", "hr", "temp")
    if not all(k in v for k in keys):
        return None
    at = v["rr"].effective
    oxygen, acvpu = supplemental_oxygen(record, at), charted_consciousness(record, at)
    known = mentation(record, at)
    consciousness = (
        acvpu.value if acvpu else ("new_confusion" if known and known.confused else "alert")
    )
    try:
        result = news2(
            News2Input(
                respiration_rate=round(_value(v, "rr")), spo2=round(_value(v, "spo2")),
                spo2_scale=1, on_oxygen=oxygen is not None and oxygen.value == "oxygen",
                systolic_bp=round(_value(v, "sbp")), pulse=round(_value(v, "hr")),
                consciousness=consciousness,
                temperature=_value(v, "temp"),
            )
        )  # fmt: skip
    except InvalidInput as err:
        log.warning("rules.news2.skipped", reason=str(err)[:200])
        return None
    severity = (
        Severity.critical
        if result.category == "high"
        else _NEWS2_SEVERITY.get(result.category, Severity.low)
    )
    return Finding(
        id="news2",
        kind="score",
        severity=severity,
        summary=f"{result.interpretation} ({_bedside_note(known, acvpu, oxygen)})",
        labs=tuple(v[k].loinc for k in keys),
        citations=(
            *_cites(v, keys),
            *((acvpu.citation,) if acvpu else known.citations if known else ()),
            *((oxygen.citation,) if oxygen else ()),
            result.citation(),
        ),
        source=result.source,
    )


def qsofa_finding(record: PatientRecord) -> Finding | None:
    """The highest qSOFA among the sets of RR and SBP recorded together (the admission's worst)."""
    best = None
    rr_sbp = {loinc: name for loinc, name in VITALS.items() if name in ("rr", "sbp")}
    for v in drawn_together(record, rr_sbp):
        known = mentation(record, v["rr"].effective)
        result = qsofa(
            QsofaInput(
                respiration_rate=round(_value(v, "rr")),
                systolic_bp=round(_value(v, "sbp")),
                altered_mentation=bool(known and known.confused),
            )
        )
        if best is None or result.value > best[0].value:
            best = (result, v, known)
    if best is None or best[0].value < 2:
        return None
    result, v, known = best
    when = v["rr"].effective.isoformat() if v["rr"].effective else "?"
    note = "mentation not recorded: a lower bound" if known is None else known.evidence
    return Finding(
        id="qsofa",
        kind="score",
        severity=Severity.high,
        summary=f"{result.interpretation} at {when} ({note})",
        labs=(v["rr"].loinc, v["sbp"].loinc),
        citations=(
            *_cites(v, ("rr", "sbp")),
            *(known.citations if known else ()),
            result.citation(),
        ),
        source=result.source,
    )


BP = {"9279-1": "rr", "8480-6": "sbp", "8462-4": "dbp"}


def curb65_finding(record: PatientRecord) -> Finding | None:
    """CURB-65 when pneumonia is on the problem list: the worst set of RR and BP recorded
    together, the urea closest to it, the age then, and coded mentation (else a lower bound)."""
    if not problems_coded(record, PNEUMONIA_ICD) or record.patient.birth_date is None:
        return None
    urea = [
        o
        for o in record.observations
        if o.loinc in UREA and o.value is not None and o.value > 0 and o.unit == UREA[o.loinc]
    ]
    best = None
    for v in drawn_together(record, BP):
        at = v["rr"].effective
        u = _closest(urea, at)
        if u is None or at is None or u.value is None:
            continue
        known = mentation(record, at)
        age = record.patient.age_on(at.date())
        try:
            result = curb65(
                Curb65Input(
                    confusion=bool(known and known.confused), urea=u.value,
                    urea_unit=UREA[u.loinc], respiration_rate=round(_value(v, "rr")),
                    systolic_bp=round(_value(v, "sbp")), diastolic_bp=round(_value(v, "dbp")),
                    age=age or 0,
                )
            )  # fmt: skip
        except InvalidInput as err:
            log.warning("rules.curb65.skipped", reason=str(err)[:200])
            continue
        if best is None or result.value > best[0].value:
            best = (result, v, u, known)
    if best is None:
        return None
    result, v, u, known = best
    note = "confusion not recorded: a lower bound" if known is None else known.evidence
    return Finding(
        id="curb65",
        kind="score",
        severity=_CURB65_SEVERITY[result.category or "low"],
        summary=f"{result.interpretation} ({note})",
        labs=(v["rr"].loinc, v["sbp"].loinc, v["dbp"].loinc, u.loinc),
        citations=(
            *_cites(v, ("rr", "sbp", "dbp")),
            Citation.fhir(u.ref),
            *(known.citations if known else ()),
            result.citation(),
        ),
        source=result.source,
    )
