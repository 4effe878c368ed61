"""Every calculation computed from the record, gathered into findings.

``record_calculation_findings``: GCS, MAP, SIRS, corrected calcium and SOFA, then APACHE II and
PSI; the abnormal ones as findings of their own, the others (and a normal anion gap) listed in
one 'computed from the record' finding.
"""

from __future__ import annotations

from collections.abc import Callable

from agents.scores.admission import psi_finding
from agents.scores.apache import apache_ii_finding
from agents.scores.basic import corrected_calcium_result, gcs_finding, map_result, sirs_result
from agents.scores.bedside import qsofa_finding
from agents.scores.sofa import _sofa
from core.domain import Citation, Finding, PatientRecord, Severity
from tools.calculators.base import CalcResult

# (finding id, what it is computed from, abnormal?, severity when abnormal, its normal wording)
_COMPUTED: tuple[
    tuple[
        str,
        Callable[[PatientRecord], tuple[CalcResult, list[Citation]] | None],
        Callable[[CalcResult], bool],
        Severity,
        Callable[[CalcResult], str],
    ],
    ...,
] = (
    ("mean_arterial_pressure", map_result, lambda r: r.category == "below 65", Severity.high,
     lambda r: f"MAP {r.value:.0f} mmHg"),
    ("sirs", sirs_result, lambda r: r.value >= 2, Severity.low,
     lambda r: f"SIRS {r.value:g} of 4"),
    ("corrected_calcium", corrected_calcium_result, lambda r: r.category != "normal",
     Severity.moderate,
     lambda r: f"corrected calcium {r.components['adjusted_mmol_l']:.2f} mmol/L"),
)  # fmt: skip


def record_calculation_findings(
    record: PatientRecord, anion_gap: CalcResult | None = None
) -> list[Finding]:
    """GCS, MAP, SIRS, corrected calcium and SOFA from the record: the abnormal ones as findings,
    the others (and a normal anion gap) listed in one 'computed from the record' finding;
    SOFA where infection is coded or qSOFA is 2 or more, with its missing inputs named."""
    found = [f for f in (gcs_finding(record),) if f is not None]
    normal: list[str] = []
    cites: list[Citation] = []
    for fid, compute, abnormal, severity, wording in _COMPUTED:
        got = compute(record)
        if got is None:
            continue
        result, refs = got
        if abnormal(result):
            found.append(_calc_finding(fid, result, refs, severity))
        else:
            normal.append(wording(result))
            cites.append(result.citation())
    if anion_gap is not None:
        normal.append(f"anion gap {anion_gap.value:g} mmol/L")
        cites.append(anion_gap.citation())
    suspected = qsofa_finding(record) is not None  # qSOFA >= 2: Sepsis-3's prompt to look
    s, sofa_value = _sofa(record, suspected)
    if s is not None:
        found.append(s)
    for score in (apache_ii_finding(record, sofa_value=sofa_value), psi_finding(record)):
        if score is not None:
            found.append(score)
    if normal:
        found.append(
            Finding(
                id="computed_from_record", kind="calculation", severity=Severity.info,
                summary="Also computed from the record, not flagged by their calculators: "
                + "; ".join(normal),
                citations=tuple(cites),
                source="tools.calculators (each citation names its calculator)",
            )
        )  # fmt: skip
    return found


def _calc_finding(
    fid: str, result: CalcResult, refs: list[Citation], severity: Severity
) -> Finding:
    return Finding(
        id=fid, kind="calculation", severity=severity, summary=result.interpretation,
        citations=(*refs, result.citation()), source=result.source,
    )  # fmt: skip
