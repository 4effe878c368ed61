"""Single calculations from the record: Glasgow coma score, SIRS, corrected calcium and MAP.

GCS from its charted total (LOINC 9269-2) or its components; SIRS (Bone 1992) from the latest
T, HR and RR with the white count (and PaCO2) within 24 h; albumin-adjusted calcium (Payne 1973)
from a calcium and albumin drawn together; mean arterial pressure from the latest SBP and DBP
charted together. ``agents.scores.record`` decides which of them become findings.
"""

from __future__ import annotations

from agents.scores.inputs import (
    ALBUMIN,
    CALCIUM,
    GCS,
    GCS_COMPONENTS,
    LAB_NEAR_VITALS,
    PACO2,
    WBC,
    _cites,
    _latest_bp,
    _moment,
    _near_obs,
    _value,
    coded_gcs,
    drawn_together,
    latest_vitals,
)
from core.domain import Citation, Finding, PatientRecord, Severity
from core.errors import InvalidInput
from core.logging import get_logger
from tools.calculators.base import CalcResult
from tools.calculators.bedside import GcsInput, SirsInput, glasgow_coma_scale, sirs
from tools.calculators.chemistry import CalciumInput, corrected_calcium
from tools.calculators.fluids import BloodPressureInput, mean_arterial_pressure

log = get_logger(__name__)


_GCS_SEVERITY = {"severe (<= 8)": Severity.high, "moderate (9-12)": Severity.moderate}


def gcs_finding(record: PatientRecord) -> Finding | None:
    """The latest coded Glasgow coma score, from the total or from its three components."""
    coded = coded_gcs(record)
    if not coded:
        return None
    g = coded[-1]
    if g.parts:
        result = glasgow_coma_scale(GcsInput(**g.parts))
        summary = f"{result.interpretation}, from its components"
    else:  # a charted total: the calculator's citation and bands, the total as charted
        result = glasgow_coma_scale(GcsInput(eye=4, verbal=5, motor=6)).model_copy(
            update={"value": float(g.total), "category": _gcs_band(g.total)}
        )
        summary = f"GCS {g.total} as charted: {result.category}"
    severity = _GCS_SEVERITY.get(result.category, Severity.low if g.total < 15 else Severity.info)
    return Finding(
        id="glasgow_coma_scale",
        kind="score",
        severity=severity,
        summary=summary,
        labs=(GCS,) if not g.parts else tuple(GCS_COMPONENTS),
        citations=(*(Citation.fhir(r) for r in g.refs), result.citation()),
        source=result.source,
    )


def _gcs_band(total: int) -> str:
    return "severe (<= 8)" if total <= 8 else "moderate (9-12)" if total <= 12 else "mild (13-15)"


def sirs_result(record: PatientRecord) -> tuple[CalcResult, list[Citation]] | None:
    """SIRS from the latest T, HR and RR and the white count (and PaCO2) within 24 h of them."""
    v = latest_vitals(record)
    if not all(k in v for k in ("temp", "hr", "rr")):
        return None
    at = v["rr"].effective
    wbc = _near_obs(record, {WBC}, at, LAB_NEAR_VITALS)
    if wbc is None or wbc.value is None:
        return None
    paco2 = _near_obs(record, {PACO2}, at, LAB_NEAR_VITALS)
    try:
        result = sirs(
            SirsInput(
                temperature=_value(v, "temp"), heart_rate=_value(v, "hr"),
                respiration_rate=_value(v, "rr"), wbc=wbc.value,
                paco2_mmhg=None if paco2 is None else paco2.value,
            )
        )  # fmt: skip
    except InvalidInput as err:
        log.warning("rules.sirs.skipped", reason=str(err)[:200])
        return None
    cites = [*_cites(v, ("temp", "hr", "rr")), Citation.fhir(wbc.ref)]
    if paco2 is not None:
        cites.append(Citation.fhir(paco2.ref))
    return result, cites


def corrected_calcium_result(record: PatientRecord) -> tuple[CalcResult, list[Citation]] | None:
    """Albumin-adjusted calcium from a calcium and an albumin drawn together (latest pair)."""
    pairs = [
        drawn
        for code in CALCIUM
        for drawn in drawn_together(record, {code: "calcium", ALBUMIN: "albumin"})
        if drawn["calcium"].unit == CALCIUM[code]
    ]
    latest = max(pairs, key=lambda d: _moment(d["calcium"]), default=None)
    if latest is None:
        return None
    try:
        result = corrected_calcium(
            CalciumInput(
                calcium=_value(latest, "calcium"), calcium_unit=latest["calcium"].unit,
                albumin=_value(latest, "albumin"), albumin_unit=latest["albumin"].unit,
            )
        )  # fmt: skip
    except InvalidInput as err:
        log.warning("rules.calcium.skipped", reason=str(err)[:200])
        return None
    return result, [Citation.fhir(o.ref) for o in latest.values()]


def map_result(record: PatientRecord) -> tuple[CalcResult, list[Citation]] | None:
    """Mean arterial pressure from the latest systolic and diastolic pressures charted together."""
    bp = _latest_bp(record)
    if bp is None:
        return None
    try:
        result = mean_arterial_pressure(
            BloodPressureInput(systolic_bp=_value(bp, "sbp"), diastolic_bp=_value(bp, "dbp"))
        )
    except InvalidInput:
        return None
    return result, [Citation.fhir(o.ref) for o in bp.values()]
