"""What the ward must know about the record itself before any finding: the patient died, the
record is years old, or parts of it could not be read.

Deceased (``Patient.deceased[x]``) is said first and plainly. A record or result older than a
year is marked stale: the NHS England AKI algorithm looks back at most 365 days for a usable
baseline (NHS/PSA/D/2014/010). An active prescription authored over two years ago has missed two
of the reviews due at least every 12 months (NICE NG5 Medicines optimisation, 2015, 1.4
medication review): it is named for reconciliation. Data issues found while reading the record
are named with their FHIR path, one finding per kind of issue.

The findings are written in English (``findings[]`` is one language); ``phrased`` says the same
in the answer's language for a card or an answer line: in Traditional Chinese the frame (what the
finding says about the record) is Chinese, while names from the record (results, medicines, FHIR
paths) and the reader's messages stay as written.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta

from core.domain import Citation, DataIssue, Finding, PatientRecord, Severity
from tools.resolve.pregnancy import latest_moment

STALE = timedelta(days=365)
STALE_ORDER = timedelta(days=730)
STALE_SOURCE = (
    "NHS England Patient Safety Alert NHS/PSA/D/2014/010 (AKI algorithm: baselines at most 365 "
    "days old); NICE NG5 Medicines optimisation (2015), 1.4 (review at least every 12 months: "
    "two missed reviews for a prescription)"
)
DECEASED = "deceased"
_NAMED = 5  # issues named one by one in a finding; the rest are counted and cited


def deceased_finding(record: PatientRecord) -> Finding | None:
    p = record.patient
    if not p.deceased:
        return None
    when = f" on {p.deceased_at.date().isoformat()}" if p.deceased_at else ""
    return Finding(
        id="patient_deceased",
        kind=DECEASED,
        severity=Severity.critical,
        summary=f"This patient is recorded as deceased{when}. Check the record before acting.",
        citations=(Citation.fhir(p.ref, label="Patient.deceased[x]"),),
        source="FHIR R4 Patient.deceased[x]",
    )


def deceased_line(record: PatientRecord, language: str = "en") -> str:
    """The answer's first line when the patient died: plainly, before the model's prose."""
    p = record.patient
    if not p.deceased:
        return ""
    day = p.deceased_at.date().isoformat() if p.deceased_at else ""
    if language == "zh-TW":
        return f"本病人記錄為已{f'於 {day} ' if day else ''}死亡 [{p.ref}]。"
    return f"This patient is recorded as deceased{f' on {day}' if day else ''} [{p.ref}]."


def _years(delta: timedelta) -> str:
    years = delta.days / 365.25
    return f"{years:.0f} years" if years >= 2 else f"{delta.days} days"


def stale_findings(record: PatientRecord, now: datetime) -> list[Finding]:
    """One finding when the whole record is old; else the stale latest results and the active
    prescriptions authored over a year ago, named."""
    latest = latest_moment(record)
    if latest is not None and now - latest > STALE:
        age = f"{latest.date().isoformat()}, {_years(now - latest)} ago"
        what = f"The record's latest entry is from {age}: every result and prescription is stale"
        return [_stale("stale_record", what, (Citation.fhir(record.patient.ref),))]
    old_results = [
        o for o in record.latest_results().values()
        if o.effective is not None and now - o.effective > STALE
    ]  # fmt: skip
    old_orders = [
        m for m in record.active_medications()
        if m.start is not None and now - m.start > STALE_ORDER and not m.proposed
    ]  # fmt: skip
    out = []
    if old_results:
        names = ", ".join(sorted({o.display for o in old_results}))
        cites = tuple(Citation.fhir(o.ref, label=o.display) for o in old_results)
        out.append(_stale("stale_results", f"Latest results over a year old: {names}", cites))
    if old_orders:
        names = ", ".join(f"{m.name} ({m.start:%Y-%m-%d})" for m in old_orders if m.start)
        cites = tuple(Citation.fhir(m.ref, label=m.name) for m in old_orders)
        what = f"Active prescriptions authored over two years ago (confirm still taken): {names}"
        out.append(_stale("stale_prescriptions", what, cites))
    return out


def _stale(fid: str, summary: str, cites: tuple[Citation, ...]) -> Finding:
    return Finding(
        id=fid, kind="stale", severity=Severity.low, summary=summary, citations=cites,
        source=STALE_SOURCE,
    )  # fmt: skip


def data_issue_findings(record: PatientRecord) -> list[Finding]:
    """One finding per kind of data issue, naming each element (resource and FHIR path)."""
    by_kind: dict[str, list[DataIssue]] = defaultdict(list)
    for issue in record.data_issues:
        by_kind[issue.kind].append(issue)
    out = []
    for kind, issues in sorted(by_kind.items()):
        named = "; ".join(f"{i.ref} {i.path}: {i.message}" for i in issues[:_NAMED])
        more = f"; and {len(issues) - _NAMED} more" if len(issues) > _NAMED else ""
        out.append(
            Finding(
                id=f"data_issue:{kind}",
                kind="data_quality",
                severity=Severity.moderate if kind == "unreadable" else Severity.info,
                summary=f"Data issue, {kind.replace('_', ' ')} ({len(issues)}): {named}{more}",
                citations=tuple(dict.fromkeys(Citation.fhir(i.ref, label=i.path) for i in issues)),
                source="FHIR R4 element definitions; wardround's reading of the record",
            )
        )
    return out


_ZH_UNITS = {"years": "年", "days": "天"}
_ZH_ISSUES = {
    "future date": "日期在未來",
    "impossible value": "不可能的數值",
    "unknown code": "無法辨識的代碼",
    "unit mismatch": "單位不符",
    "dangling reference": "指向不存在資源的參照",
    "unresolved file": "無法取得的檔案",
    "missing value": "缺少數值",
    "unreadable": "無法讀取",
    "implausible age": "不合理的年齡",
}


def _zh_deceased(m: re.Match[str]) -> str:
    when = f"於 {m['day']} " if m["day"] else ""
    return f"本病人記錄為已{when}死亡。採取任何處置前請先核對病歷。"


def _zh_stale_record(m: re.Match[str]) -> str:
    age = f"{m['n']} {_ZH_UNITS[m['unit']]}前"
    return f"病歷最新一筆資料為 {m['day']}（{age}）：所有檢驗結果與處方皆已過時"


def _zh_issue(m: re.Match[str]) -> str:
    kind = _ZH_ISSUES.get(m["kind"], m["kind"])
    more = f"；另有 {m['more']} 項" if m["more"] else ""
    return f"資料問題：{kind}（{m['n']}）：{m['named']}{more}"


_PHRASED: dict[str, tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...]] = {
    "zh-TW": (
        (
            re.compile(
                r"This patient is recorded as deceased(?: on (?P<day>\d{4}-\d{2}-\d{2}))?\. "
                r"Check the record before acting\."
            ),
            _zh_deceased,
        ),
        (
            re.compile(
                r"The record's latest entry is from (?P<day>\d{4}-\d{2}-\d{2}), (?P<n>\d+) "
                r"(?P<unit>years|days) ago: every result and prescription is stale"
            ),
            _zh_stale_record,
        ),
        (
            re.compile(r"Latest results over a year old: (?P<names>.+)", re.S),
            lambda m: f"最新檢驗結果已超過一年：{m['names']}",
        ),
        (
            re.compile(
                r"Active prescriptions authored over two years ago \(confirm still taken\): "
                r"(?P<names>.+)",
                re.S,
            ),
            lambda m: f"開立超過兩年的使用中處方（請確認是否仍在使用）：{m['names']}",
        ),
        (
            re.compile(
                r"Data issue, (?P<kind>[a-z ]+) \((?P<n>\d+)\): (?P<named>.+?)"
                r"(?:; and (?P<more>\d+) more)?",
                re.S,
            ),
            _zh_issue,
        ),
    )
}
"""Each summary this module writes, matched whole, and the same said in another language."""

RECORD_KINDS = frozenset({DECEASED, "stale", "data_quality"})
"""The kinds of finding this module writes (``data_quality`` is also the labs' kind)."""


def phrased(finding: Finding, language: str) -> str:
    """The finding's summary in ``language`` when this module wrote it; else as it is."""
    if finding.kind not in RECORD_KINDS:
        return finding.summary
    for pattern, say in _PHRASED.get(language, ()):
        if m := pattern.fullmatch(finding.summary):
            return say(m)
    return finding.summary


def record_status_findings(record: PatientRecord, now: datetime) -> list[Finding]:
    deceased = deceased_finding(record)
    return [
        *([deceased] if deceased else []),
        *stale_findings(record, now),
        *data_issue_findings(record),
    ]
