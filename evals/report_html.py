"""``report.html``: the run's headline, per-case table and charts, in one self-contained file.

Charts are inline SVG drawn here (metrics by case, latency per node, tokens per case): no
plotting dependency, no external assets, viewable offline on a ward workstation.
"""

from __future__ import annotations

from html import escape
from typing import Any

from evals.report import HEADLINE, fmt

COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728")
ROW = 18
LABEL_W = 300
BAR_W = 420


def bar_chart(
    title: str, labels: list[str], series: dict[str, list[float | None]], unit: str = ""
) -> str:
    """Horizontal grouped bars, one row group per label; ``None`` draws nothing."""
    values = [v for vs in series.values() for v in vs if v is not None]
    top = max(values, default=0.0) or 1.0
    group = ROW * len(series) + 6
    height = 40 + group * len(labels) + 20
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{LABEL_W + BAR_W + 90}" '
        f'height="{height}" role="img" aria-label="{escape(title)}">',
        f'<text x="4" y="16" font-weight="bold">{escape(title)}</text>',
    ]
    for n, name in enumerate(series):
        x = LABEL_W + n * 120
        parts.append(f'<rect x="{x}" y="24" width="10" height="10" fill="{COLOURS[n % 4]}"/>')
        parts.append(f'<text x="{x + 14}" y="33" font-size="11">{escape(name)}</text>')
    for i, label in enumerate(labels):
        y0 = 40 + i * group
        parts.append(
            f'<text x="{LABEL_W - 6}" y="{y0 + ROW - 5}" font-size="11" '
            f'text-anchor="end">{escape(label[:48])}</text>'
        )
        for n, values_ in enumerate(series.values()):
            value = values_[i]
            if value is None:
                continue
            y = y0 + n * ROW
            width = max(1.0, BAR_W * value / top)
            parts.append(
                f'<rect x="{LABEL_W}" y="{y}" width="{width:.1f}" height="{ROW - 4}" '
                f'fill="{COLOURS[n % 4]}"/>'
            )
            parts.append(
                f'<text x="{LABEL_W + width + 4:.1f}" y="{y + ROW - 6}" font-size="10">'
                f"{escape(fmt(value))}{escape(unit)}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _charts(results: dict[str, Any]) -> list[str]:
    scored = [c for c in results["cases"] if c.get("metrics")]
    labels = [c["case_id"] for c in scored]
    metrics = [c["metrics"] for c in scored]
    latency = results["summary"]["latency_ms"]
    nodes = list(latency)
    return [
        bar_chart(
            "Finding recall and citation validity by case",
            labels,
            {
                "recall (rule)": [m["rule_recall"] for m in metrics],
                "recall (model)": [m["model_recall"] for m in metrics],
                "citations valid": [m["citation_validity"] for m in metrics],
            },
        ),
        bar_chart(
            "Latency per node (ms)",
            nodes,
            {"p50": [latency[n]["p50"] for n in nodes], "p95": [latency[n]["p95"] for n in nodes]},
            unit=" ms",
        ),
        bar_chart("Tokens per case", labels, {"tokens": [float(m["tokens"]) for m in metrics]}),
    ]


def render_html(results: dict[str, Any]) -> str:
    summary = results["summary"]
    model = results["model"]
    headline = _table(["metric", "value"], [[label, fmt(summary[k])] for k, label in HEADLINE])
    rows = [
        [
            c["case_id"],
            c.get("error") or "",
            fmt(c["metrics"]["rule_recall"]) if c.get("metrics") else "-",
            fmt(c["metrics"]["model_recall"]) if c.get("metrics") else "-",
            "; ".join(c["metrics"]["safety_critical_misses"]) if c.get("metrics") else "-",
            (c.get("answer") or "")[:300],
        ]
        for c in results["cases"]
    ]
    cases = _table(
        ["case", "error", "recall rule", "recall model", "safety-critical misses", "answer"], rows
    )
    charts = "".join(f"<figure>{svg}</figure>" for svg in _charts(results))
    title = f"Eval run: suite {results['suite']}"
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><style>"
        "body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 6px;"
        "font-size:13px;vertical-align:top}th{background:#f3f3f3}figure{margin:1.5em 0}"
        "</style></head><body>"
        f"<h1>{escape(title)}</h1>"
        f"<p>model <code>{escape(str(model['name']))}</code> at "
        f"<code>{escape(str(model['base_url']))}</code>; code "
        f"<code>{escape(str(results['code_version']))}</code>; {escape(results['created_at'])}; "
        f"{summary['cases']} cases scored, {results['errors']} failed.</p>"
        f"<h2>Headline</h2>{headline}<h2>Charts</h2>{charts}<h2>Cases</h2>{cases}"
        "</body></html>\n"
    )
