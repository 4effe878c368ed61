"""The words on a card: its summary in the question's language, its kidney and analyte phrases.

Rule text (a finding's summary) stays English where no translation is sourced; the frame around
it (titles, tier headings, the degraded-mode line) is in the answer's language.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from agents.cards.model import SUMMARY_MAX
from agents.cards.rules import Problem, analytes
from agents.record_status import phrased
from core.domain import Finding

FRAMES = {
    "en": {
        "act_now": "Act now",
        "review": "Review",
        "for_information": "For information",
        "collapsed": "collapsed",
        "suggested": "Proposed (needs a clinician's approval)",
        "guidelines_heading": "Guidelines:",
        "suggested_line": "{label}: {proposed}",
        "collapsed_line": "{tier} ({n} {cards}, {collapsed})",
        "degraded": "Model unavailable: the findings below are computed by rules.",
        "counted": "{findings} rule findings in {cards} cards ({act_now} to act on now).",
        "medicines": "Medicines: {drugs}",
        "statements": "Guideline statements not tied to a finding on this patient ({n})",
        "not_applicable": "Guideline statements that do not apply: no matching diagnosis ({n})",
        "aki": "AKI stage {stage}",
        "on_ckd": " on CKD",
        "egfr": "eGFR {value} ({category})",
        "kidney_none": "kidney results",
        "cards": "cards",
        "critical": "CRITICAL",
        "high": "HIGH",
        "moderate": "MODERATE",
        "low": "LOW",
        "info": "INFO",
        "citations": "Citations",
    },
    "zh-TW": {
        "act_now": "立即處理",
        "review": "需要檢視",
        "for_information": "參考資訊",
        "collapsed": "已收合",
        "suggested": "建議處置（需臨床醫師核准）",
        "guidelines_heading": "指引：",
        "suggested_line": "{label}：{proposed}",
        "collapsed_line": "{tier}（{n} {cards}，{collapsed}）",
        "degraded": "模型無法使用：以下發現由規則計算。",
        "counted": "規則發現 {findings} 項，整理為 {cards} 張卡片（立即處理 {act_now} 張）。",
        "medicines": "藥物：{drugs}",
        "statements": "與本病人的發現無直接關聯的指引建議（{n}）",
        "not_applicable": "不適用於本病人的指引建議：無相符的診斷（{n}）",
        "aki": "急性腎損傷第{stage}期",
        "on_ckd": "合併慢性腎臟病",
        "egfr": "eGFR {value}（{category}）",
        "kidney_none": "腎功能檢驗",
        "cards": "張卡片",
        "critical": "危急",
        "high": "高",
        "moderate": "中",
        "low": "低",
        "info": "資訊",
        "citations": "引用來源",
    },
}


WORDS = {
    "zh-TW": {
        "high": "偏高",
        "low": "偏低",
        "critically high": "危急偏高",
        "critically low": "危急偏低",
        "rising": "上升",
        "falling": "下降",
        "unchanged overall": "整體持平",
        "rising overall, falling since the peak": "整體上升，自高峰回落",
        "falling overall, rising since the low point": "整體下降，自低點回升",
        "contraindicated": "禁忌",
    }
}
"""Our own words inside a card's summary (a flag, a course, 'contraindicated') in the answer's
language; analyte and drug names stay as the record and the rules write them."""


def frame(language: str) -> dict[str, str]:
    return FRAMES.get(language, FRAMES["en"])


def say(word: str, language: str) -> str:
    return WORDS.get(language, {}).get(word, word)


def _list(items: Sequence[str], language: str) -> str:
    return ("、" if language == "zh-TW" else ", ").join(items)


_HOLD = re.compile(r"^Hold (?P<med>.+?)(?: \(then review (?P<review>.+)\))?$")
_ADJUST = re.compile(r"^Adjust the dose of (?P<med>.+)$")
_ACTIVATE = re.compile(r"^Activate the proposed order: (?P<order>.+)$")


def suggestion_label(summary: str, language: str) -> str:
    """A proposal's summary (``agents.approvals.propose``) framed in the answer's language."""
    if language != "zh-TW":
        return summary
    if m := _HOLD.match(summary):
        review = m.group("review")
        then = f"（之後重新評估 {_list(review.split(', '), language)}）" if review else ""
        return f"暫停使用 {m.group('med')}{then}"
    if m := _ADJUST.match(summary):
        return f"調整劑量：{m.group('med')}"
    if m := _ACTIVATE.match(summary):
        return f"啟用擬議的醫囑：{m.group('order')}"
    return summary


_AKI = re.compile(r"AKI stage (\d)")
_EGFR = re.compile(r"eGFR \(CKD-EPI 2021\) (\d+(?:\.\d+)?) .*category (G\w+)")


def kidney_phrase(findings: Sequence[Finding], has_ckd: bool, language: str) -> str:
    """'AKI stage 2 on CKD, eGFR 20 (G4)' from the AKI staging and the eGFR calculation."""
    words = frame(language)
    parts = []
    for f in findings:
        if f.kind == "aki_stage" and (m := _AKI.search(f.summary)):
            parts.append(
                words["aki"].format(stage=m.group(1)) + (words["on_ckd"] if has_ckd else "")
            )
            break
    for f in findings:
        if f.id.startswith("egfr_") and (m := _EGFR.search(f.summary)):
            parts.append(words["egfr"].format(value=m.group(1), category=m.group(2)))
            break
    sep = ", " if language == "en" else "，"
    return sep.join(parts) or words["kidney_none"]


_FLAG = re.compile(
    r"^(?P<name>.+?) (?P<value>\d[\d.,]*(?: \S+(?: \S+)?)?) (?:is|was) "
    r"(?P<word>critically \w+|\w+)"
)
_TREND = re.compile(r"^(?P<name>.+?) (?P<course>(?:rising|falling|unchanged)[^:(]*)")


def analyte_phrase(
    findings: Sequence[Finding], lead_labs: Sequence[str], language: str = "en"
) -> str:
    """'Creatinine 3.1 mg/dL high, rising overall, falling since the peak' for the card's most
    severe flagged or trending analyte (the first of ``lead_labs`` among equals)."""
    order: dict[str, int] = {}
    for code in lead_labs:
        order.setdefault(next(iter(analytes([code]))), len(order))
    labbed = [f for f in findings if f.kind in ("lab_flag", "lab_trend") and f.labs]
    if not labbed:
        return ""
    # the most severe analyte leads; among equals, the first of ``lead_labs``
    lead = min(
        labbed,
        key=lambda f: (-f.severity.rank, min(order.get(a, 99) for a in analytes(f.labs))),
    )
    same = [f for f in labbed if analytes(f.labs) == analytes(lead.labs)]
    flag = next((_FLAG.match(f.summary) for f in same if f.kind == "lab_flag"), None)
    trend = next((_TREND.match(f.summary) for f in same if f.kind == "lab_trend"), None)
    found = flag or trend
    text = found.group("name") if found is not None else lead.summary
    if flag:
        text += f" {flag.group('value')} {say(flag.group('word'), language)}"
    if trend:
        comma = ("，" if language == "zh-TW" else ", ") if flag else " "
        text += f"{comma}{say(trend.group('course').strip(), language)}"
    return text


_SCORE = re.compile(r"^((?:NEWS2|qSOFA|CURB-65) \d+(?: \([^)]*\))?)")
_NEWS2_RISK = re.compile(
    r"^NEWS2 (?P<total>\d+) \((?P<band>low|low-medium|medium|high) clinical risk\)(?P<colon>: )?"
)
NEWS2_RISK = {
    "zh-TW": {"low": "低度", "low-medium": "低至中度", "medium": "中度", "high": "高度"},
}
"""RCP NEWS2 (2017) Chart 2's clinical risk bands (tools/calculators/news2.py) in the answer's
language: 'NEWS2 5 (medium clinical risk)' reads 'NEWS2 5（中度臨床風險）'."""


def news2_words(text: str, language: str) -> str:
    """``text`` with its opening 'NEWS2 n (band clinical risk)' in ``language``; the RCP's
    response wording after it stays as the RCP wrote it."""
    bands = NEWS2_RISK.get(language)
    if bands is None:
        return text
    return _NEWS2_RISK.sub(
        lambda m: f"NEWS2 {m['total']}（{bands[m['band']]}臨床風險）{'：' if m['colon'] else ''}",
        text,
        count=1,
    )


def finding_text(f: Finding, language: str) -> str:
    """A finding's summary as an answer or a card says it: the record-status findings
    (deceased, stale, data issues) and the NEWS2 risk band in the answer's language; other rule
    text as the rules wrote it."""
    if f.kind == "score":
        return news2_words(f.summary, language)
    return phrased(f, language)


def score_phrase(findings: Sequence[Finding], language: str = "en") -> str:
    """'NEWS2 1 (low clinical risk), qSOFA 0' from the card's score findings."""
    found = [m.group(1) for f in findings if f.kind == "score" and (m := _SCORE.match(f.summary))]
    found = [news2_words(text, language) for text in found]
    return ("、" if language == "zh-TW" else ", ").join(found) or "—"


def drug_phrase(findings: Sequence[Finding], language: str = "en") -> str:
    """The card's drugs, most severe first; a drug contraindicated here says so."""
    named: dict[str, str] = {}
    marked = f" ({say('contraindicated', language)})"
    if language == "zh-TW":
        marked = f"（{say('contraindicated', language)}）"
    for f in findings:
        for drug in f.drugs:
            contraindicated = f.kind == "contraindication" and "contraindicated" in f.summary
            if contraindicated or drug not in named:
                named[drug] = f"{drug}{marked}" if contraindicated else drug
    return _list(list(named.values()), language)


def fit(text: str, limit: int = SUMMARY_MAX) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip(" ,;:—-") + "…"


def problem_summary(
    problem: Problem, findings: Sequence[Finding], *, kidney: str, language: str
) -> str:
    title = problem.title.get(language) or problem.title["en"]
    lead_labs = [code for m in problem.match for code in m.labs]
    analyte = analyte_phrase(findings, lead_labs, language)
    drugs = drug_phrase(findings, language)
    if "{drugs}" in title and not drugs:  # e.g. a documented allergy no medicine conflicts with
        return generic_summary(findings, language)
    on_drugs = (f" on {drugs}" if language == "en" else f"（{drugs}）") if drugs else ""
    tail = (f"; drugs: {drugs}" if language == "en" else f"；藥物：{drugs}") if drugs else ""
    text = title.format(
        kidney=kidney,
        drugs=drugs,
        analyte=analyte,
        on_drugs=on_drugs,
        drugs_tail=tail,
        score=score_phrase(findings, language),
    )
    if problem.id == "kidney-function" and analyte:
        text += f"{'；' if language == 'zh-TW' else '; '}{analyte}"
    return fit(text)


def generic_summary(findings: Sequence[Finding], language: str) -> str:
    """A card no problem rule names: its analyte, or its drugs and worst finding."""
    lead = findings[0]
    analyte = analyte_phrase(findings, lead.labs, language)
    if analyte and not lead.drugs:
        return fit(analyte)
    drugs = drug_phrase(findings, language)
    if not drugs:
        return fit(finding_text(lead, language))
    head = frame(language)["medicines"].format(drugs=drugs)
    return fit(f"{head} — {finding_text(lead, language)}")
