"""``report.md`` for one suite run, and the markdown diff of two runs.

Numbers are the definitions of ``evals.metrics``; ``-`` means "not applicable" (no expected
findings of that kind, no claims, no route given...). The charts are the PNGs ``evals.charts``
writes beside the report, linked by relative path.
"""

from __future__ import annotations

from typing import Any

from evals.charts import CHARTS

HEADLINE = (
    ("rule_recall", "finding recall (rule)"),
    ("model_recall", "finding recall (model)"),
    ("rule_precision", "finding precision (rule)"),
    ("model_precision", "finding precision (model)"),
    ("safety_critical_misses", "safety-critical misses"),
    ("citation_validity", "citation validity"),
    ("required_citation_recall", "required citations present"),
    ("unsupported_claim_rate", "unsupported-claim rate"),
    ("forbidden_claim_hits", "forbidden claims in answers"),
    ("routing_accuracy", "routing accuracy"),
    ("language_accuracy", "answer language correct"),
    ("tokens_per_case", "tokens per case"),
    ("shared_prefix_fraction", "shared-prefix fraction of prompts"),
    ("degraded", "degraded rounds"),
)
LOWER_IS_BETTER = frozenset(
    {
        "safety_critical_misses",
        "unsupported_claim_rate",
        "forbidden_claim_hits",
        "degraded",
        "latency_p95_total",
        "tokens_per_case",
    }
)


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def render_markdown(results: dict[str, Any]) -> str:
    summary = results["summary"]
    model = results["model"]
    caps = model.get("capabilities") or {}
    lines = [
        f"# Eval run: suite `{results['suite']}`",
        "",
        f"- model: `{model['name']}` at `{model['base_url']}` "
        f"(tools: {caps.get('tools')}, structured: {caps.get('structured')})",
        f"- code: `{results['code_version']}`; run at {results['created_at']}",
        f"- cases: {summary['cases']} scored, {results['errors']} failed{_unfinished(results)}; "
        f"{summary['expected_findings']} expected findings",
        _replay_line(results),
        "",
        "## Headline",
        "",
        *_table(["metric", "value"], [[label, fmt(summary[key])] for key, label in HEADLINE]),
        "",
        "## Charts",
        "",
        *[line for c in CHARTS for line in (f"![{c.title}]({c.file})", "")],
        "## Latency per node (ms)",
        "",
        *_table(
            ["node", "p50", "p95"],
            [[n, fmt(v["p50"]), fmt(v["p95"])] for n, v in summary["latency_ms"].items()],
        ),
        "",
        "## Cases",
        "",
    ]
    rows = []
    for case in results["cases"]:
        m = case.get("metrics")
        if m is None:
            rows.append([case["case_id"], "error", case.get("error", ""), *["-"] * 6])
            continue
        rows.append(
            [
                case["case_id"],
                fmt(m["rule_recall"]),
                fmt(m["model_recall"]),
                str(len(m["safety_critical_misses"])),
                fmt(m["citation_validity"]),
                fmt(m["unsupported_claim_rate"]),
                fmt(m["route_correct"]),
                str(m["tokens"]),
                fmt(m["timings"].get("total")),
                "yes" if m["degraded"] else "no",
            ]
        )
    header = ["case", "recall rule", "recall model", "safety misses", "citations valid"]
    header += ["unsupported claims", "route ok", "tokens", "total ms", "degraded"]
    lines += _table(header, rows)
    lines += _cards_section(results)
    misses = [
        f"- `{c['case_id']}`: " + "; ".join(c["metrics"]["safety_critical_misses"])
        for c in results["cases"]
        if c.get("metrics") and c["metrics"]["safety_critical_misses"]
    ]
    if misses:
        lines += ["", "## Safety-critical misses", "", *misses]
    errors = [f"- `{c['case_id']}`: {c['error']}" for c in results["cases"] if c.get("error")]
    if errors:
        lines += ["", "## Failed cases", "", *errors]
    return "\n".join(lines) + "\n"


CARD_COLUMNS = (
    ("cards_act_now", "act now"),
    ("cards_total", "cards"),
    ("findings_merged", "findings merged"),
    ("duplicates_left", "duplicates left"),
    ("act_now_precision", "act-now precision"),
    ("act_now_safety_recall", "safety recall in act now"),
    ("not_in_act_now_hits", "must-not in act now"),
    ("answer_chars", "answer chars"),
)


def _cards_section(results: dict[str, Any]) -> list[str]:
    """What a ward reads: the cards per tier (``evals.card_metrics``); absent in older runs."""
    totals = results["summary"].get("cards") or {}
    if not totals:
        return []
    rows = []
    for case in results["cases"]:
        cards = (case.get("metrics") or {}).get("cards")
        if cards is None:
            continue
        values = [cards[key] for key, _ in CARD_COLUMNS]
        rows.append([case["case_id"], *(fmt(len(v) if isinstance(v, list) else v) for v in values)])
    return [
        "",
        "## Cards (what a ward reads)",
        "",
        *_table(["metric", "value"], [[k.replace("_", " "), fmt(v)] for k, v in totals.items()]),
        "",
        *_table(["case", *(label for _, label in CARD_COLUMNS)], rows),
    ]


def _unfinished(results: dict[str, Any]) -> str:
    planned = int(results.get("planned") or 0)
    if results.get("complete", True) or not planned:
        return ""
    return f" (run incomplete: {len(results['cases'])} of {planned} planned cases finished)"


def _replay_line(results: dict[str, Any]) -> str:
    replays = results.get("replays") or {}
    if not replays.get("checked"):
        return "- replay check: not run"
    return (
        f"- replay check: {replays['identical']}/{replays['checked']} transcripts replay "
        "identically with the code that recorded them"
    )


def _delta(key: str, a: Any, b: Any) -> str:
    if not isinstance(a, int | float) or not isinstance(b, int | float):
        return ""
    change = b - a
    if change == 0:
        return "="
    better = (change < 0) if key in LOWER_IS_BETTER else (change > 0)
    return f"{change:+.3f} ({'better' if better else 'worse'})"


def diff_markdown(a: dict[str, Any], b: dict[str, Any]) -> str:
    """Metric deltas (B - A) and the cases whose answer or findings changed."""
    lines = [
        f"# Eval diff: A = `{a['model']['name']}` @ `{a['code_version']}` "
        f"vs B = `{b['model']['name']}` @ `{b['code_version']}`",
        "",
        f"suites: A `{a['suite']}` ({a['summary']['cases']} cases), "
        f"B `{b['suite']}` ({b['summary']['cases']} cases)",
        "",
        "## Metrics",
        "",
    ]
    rows = [
        [
            label,
            fmt(a["summary"][k]),
            fmt(b["summary"][k]),
            _delta(k, a["summary"][k], b["summary"][k]),
        ]
        for k, label in HEADLINE
    ]
    p95a = (a["summary"]["latency_ms"].get("total") or {}).get("p95")
    p95b = (b["summary"]["latency_ms"].get("total") or {}).get("p95")
    rows.append(
        ["latency p95 total (ms)", fmt(p95a), fmt(p95b), _delta("latency_p95_total", p95a, p95b)]
    )
    lines += _table(["metric", "A", "B", "B - A"], rows)
    cases_a = {c["case_id"]: c for c in a["cases"]}
    cases_b = {c["case_id"]: c for c in b["cases"]}
    changed = []
    for cid in sorted(cases_a.keys() & cases_b.keys()):
        ca, cb = cases_a[cid], cases_b[cid]
        what = []
        if ca.get("answer") != cb.get("answer"):
            what.append("answer")
        if ca.get("findings") != cb.get("findings"):
            gained = sorted(set(cb.get("findings") or []) - set(ca.get("findings") or []))
            lost = sorted(set(ca.get("findings") or []) - set(cb.get("findings") or []))
            what.append(f"findings (+{len(gained)} -{len(lost)}: {', '.join((gained + lost)[:4])})")
        if (ca.get("error") is None) != (cb.get("error") is None):
            what.append("error status")
        ma, mb = ca.get("metrics") or {}, cb.get("metrics") or {}
        if ma and mb and ma["route_actual"] != mb["route_actual"]:
            what.append(f"route {'+'.join(ma['route_actual'])} -> {'+'.join(mb['route_actual'])}")
        if ma and mb and ma["degraded"] != mb["degraded"]:
            what.append("degraded" if mb["degraded"] else "no longer degraded")
        if what:
            changed.append(f"- `{cid}`: " + "; ".join(what))
    only = sorted(cases_a.keys() ^ cases_b.keys())
    lines += ["", f"## Changed cases ({len(changed)})", "", *(changed or ["none"])]
    if only:
        lines += ["", "## Cases in only one run", "", *[f"- `{c}`" for c in only]]
    for cid in sorted(cases_a.keys() & cases_b.keys()):
        ca, cb = cases_a[cid], cases_b[cid]
        if ca.get("answer") != cb.get("answer"):
            lines += ["", f"### `{cid}` answer", "", "A:", "", _quote(ca.get("answer")), "", "B:"]
            lines += ["", _quote(cb.get("answer"))]
    return "\n".join(lines) + "\n"


def _quote(text: Any) -> str:
    return "\n".join(f"> {line}" for line in str(text or "").splitlines()) or "> (none)"
