"""Lab flags and trends as :class:`core.domain.Finding` s (``origin='rule'``).

One flag finding per analyte, on its latest result; one trend finding per analyte whose latest
result is abnormal and moved away from normal since baseline (or came back to normal); one
data-quality finding per implausible or unconvertible result; one info finding listing results
that have no reference range. Every finding cites the Observation refs it rests on and carries the
range's source.
"""

from __future__ import annotations

from core.domain import Citation, Finding, PatientRecord, Severity
from tools.labs.flags import LabFlag, lab_flags
from tools.labs.ranges import range_for
from tools.labs.trends import LabTrend, all_trends, course
from tools.labs.vital_signs import news2_points
from tools.units import written_unit

_FLAG_SEVERITY = {
    "LL": Severity.critical,
    "HH": Severity.critical,
    "L": Severity.low,
    "H": Severity.low,
}
_FLAG_WORDS = {"LL": "critically low", "HH": "critically high", "L": "low", "H": "high"}


def _fmt(value: float | None) -> str:
    return "?" if value is None else f"{value:.4g}"


def _measured(value: float | None, unit: str) -> str:
    """'3.1 mg/dL', '19 mL/min/1.73 m²', '7.08' (pH has no unit as written)."""
    return f"{_fmt(value)} {written_unit(unit)}".strip()


def _interval_text(f: LabFlag) -> str:
    lo, hi, unit = f.low, f.high, written_unit(f.unit)
    if lo is not None and hi is not None:
        return f"{_fmt(lo)}-{_fmt(hi)} {unit}".strip()
    return f">{_measured(lo, f.unit)}" if lo is not None else f"<{_measured(hi, f.unit)}"


def _cite(f: LabFlag) -> Citation:
    return Citation.fhir(f.ref, label=f"{f.name} {_measured(f.value, f.unit)}")


def flag_finding(f: LabFlag, *, earlier: bool = False) -> Finding:
    """A finding for one flagged result; ``earlier`` marks a critical value that is no longer the
    latest result (it still matters: the ward must know it happened)."""
    source = f.source if f.flag in ("L", "H") else f"{f.source}; critical: {f.critical_source}"
    when = f" on {f.effective:%Y-%m-%d %H:%M}" if f.effective else ""
    tense = f"was {_FLAG_WORDS[f.flag]}{when}" if earlier else f"is {_FLAG_WORDS[f.flag]}"
    summary = (
        f"{f.name} {_measured(f.value, f.unit)} {tense} [{f.flag}] (reference {_interval_text(f)})"
    )
    points = news2_points(f.loinc, f.value) if f.value is not None else None
    if points is not None:  # a vital sign: its NEWS2 points, not a "reference range" of bands
        summary = f"{f.name} {_measured(f.value, f.unit)} {tense} [{f.flag}]: NEWS2 {points} of 3"
    return Finding(
        id=f"lab_flag:{f.ref}#{f.loinc}",
        kind="lab_flag",
        severity=Severity.high if earlier else _FLAG_SEVERITY[f.flag],
        summary=summary,
        labs=(f.loinc,),
        citations=(_cite(f),),
        source=source,
    )


def quality_finding(f: LabFlag, earlier: tuple[LabFlag, ...] = ()) -> Finding:
    """One finding per analyte and kind of defect, on its latest result; ``earlier`` results with
    the same defect are counted and cited, not repeated (sixty results in one odd unit are one
    thing to verify)."""
    severity = Severity.high if f.flag == "implausible" else Severity.moderate
    what = "not interpretable" if f.flag == "implausible" else "in a unit that cannot be converted"
    also = f" ({len(earlier)} earlier result(s) the same)" if earlier else ""
    return Finding(
        id=f"lab_quality:{f.ref}#{f.loinc}",
        kind="data_quality",
        severity=severity,
        summary=f"Verify {f.name} {_measured(f.value, f.unit)}: {what}; {f.detail}{also}",
        labs=(f.loinc,),
        citations=(_cite(f), *(_cite(e) for e in reversed(earlier))),
        source=f.source,
    )


def _direction(t: LabTrend) -> str:
    if t.latest is None or t.baseline is None or t.delta is None:
        return ""
    worse_up = t.latest.flag in ("H", "HH") and t.delta > 0
    worse_down = t.latest.flag in ("L", "LL") and t.delta < 0
    if worse_up or worse_down:
        return "worsening"
    if t.latest.flag == "N" and t.baseline.flag != "N":
        return "normalised"
    return ""


def trend_finding(t: LabTrend, source: str) -> Finding | None:
    direction = _direction(t)
    if not direction or t.baseline is None or t.latest is None:
        return None
    unit = written_unit(t.unit)
    # the last change, named as such: "latest" beside "rising" read as the current pace
    last = t.recent_rate_per_day if t.recent_rate_per_day is not None else t.rate_per_day
    rate = f"; last change {last:+.3g} {unit}/day" if last is not None else ""
    pct = f", {t.percent_change:+.0f}%" if t.percent_change is not None else ""
    peak = ""
    if "since the peak" in course(t) and t.maximum is not None:
        peak = f" (peak {_fmt(t.maximum.value)})"
    elif "since the low point" in course(t) and t.minimum is not None:
        peak = f" (lowest {_fmt(t.minimum.value)})"
    if direction == "worsening" and peak:
        direction = "worse than baseline"  # not "worsening": the last change was towards normal
    severity = Severity.info if direction == "normalised" else Severity.moderate
    if t.latest.flag in ("LL", "HH"):
        severity = Severity.high
    return Finding(
        id=f"lab_trend:{t.loinc}",
        kind="lab_trend",
        severity=severity,
        summary=(
            f"{t.name} {course(t)} ({direction}): {_fmt(t.baseline.value)} -> "
            f"{_fmt(t.latest.value)} {unit}{peak} over {len(t.points)} results "
            f"({t.delta:+.3g}{pct}{rate})"
        ),
        labs=(t.loinc,),
        citations=tuple(
            Citation.fhir(p.ref, label=f"{t.name} {_fmt(p.value)} {unit}") for p in t.points
        ),
        source=source,
    )


def lab_findings(record: PatientRecord) -> list[Finding]:
    """Every deterministic lab finding for the record, most severe first."""
    flags = lab_flags(record)
    latest: dict[str, LabFlag] = {}
    worst_critical: dict[str, LabFlag] = {}
    out: list[Finding] = []
    defects: dict[tuple[str, str, str], list[LabFlag]] = {}
    for f in flags:
        if f.flag in ("implausible", "unit_mismatch"):
            defects.setdefault((_analyte(f.loinc), f.flag, f.unit), []).append(f)
        elif f.flag not in ("no_range", "non_numeric"):
            key = _analyte(f.loinc)
            if _supersedes(f, latest.get(key)):
                latest[key] = f
            if f.flag in ("LL", "HH") and _more_extreme(f, worst_critical.get(key)):
                worst_critical[key] = f
    out.extend(quality_finding(same[-1], tuple(same[:-1])) for same in defects.values())
    out.extend(flag_finding(f) for f in latest.values() if f.flag in _FLAG_SEVERITY)
    out.extend(
        flag_finding(f, earlier=True)
        for key, f in worst_critical.items()
        if latest[key].flag not in ("LL", "HH")
    )
    sources = {key: f.source for key, f in latest.items()}
    for t in all_trends(record):
        finding = trend_finding(t, sources.get(t.loinc, ""))
        if finding is not None:
            out.append(finding)
    no_range = [f for f in flags if f.flag == "no_range"]
    if no_range:
        out.append(_no_range_finding(no_range))
    return sorted(out, key=lambda x: -x.severity.rank)


_FLAG_RANK = {"N": 0, "L": 1, "H": 1, "LL": 2, "HH": 2}


def _supersedes(f: LabFlag, current: LabFlag | None) -> bool:
    """A later result replaces the latest; of two drawn at the same moment that disagree (two
    panels reporting one analyte), the more abnormal one stands: the safety net errs to warn."""
    if current is None or f.effective != current.effective:
        return True
    return _FLAG_RANK.get(f.flag, 0) >= _FLAG_RANK.get(current.flag, 0)


def _more_extreme(f: LabFlag, other: LabFlag | None) -> bool:
    if other is None or f.value is None or other.value is None:
        return other is None
    return f.value < other.value if f.flag == "LL" else f.value > other.value


def _analyte(loinc: str) -> str:
    """The canonical LOINC of the analyte (creatinine 14682-9 and 2160-0 are one analyte)."""
    rr = range_for(loinc)
    return rr.loinc if rr else loinc


def _no_range_finding(flags: list[LabFlag]) -> Finding:
    names = sorted({f.name for f in flags})
    return Finding(
        id="lab_no_range",
        kind="lab_no_range",
        severity=Severity.info,
        summary=f"{len(flags)} result(s) have no reference range: {', '.join(names)}",
        citations=tuple(dict.fromkeys(Citation.fhir(f.ref, label=f.name) for f in flags)),
        source="data/labs/reference_ranges.yaml (no entry for these codes)",
    )
