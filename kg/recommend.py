"""Combine condition and lab matches into applicable guideline recommendations.

A recommendation with condition criteria applies when any of its conditions matches; with lab
criteria, when any lab criterion holds; with both, both groups must match (e.g. "T2D and eGFR
>= 20": ADA/KDIGO SGLT2 inhibitor recommendations).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kg.models import GuidelineRef, Recommendation, Threshold

Row = dict[str, Any]


@dataclass
class _Match:
    row: Row
    conditions: set[str] = field(default_factory=set)
    labs: set[str] = field(default_factory=set)


def threshold_of(row: Row) -> Threshold:
    """The bounds stored on a CONTRAINDICATED_IN/CAUTION_IN/APPLIES_TO edge."""
    return Threshold(
        analyte=row["analyte"] or "",
        lt=row["lt"],
        le=row["le"],
        gt=row["gt"],
        ge=row["ge"],
        unit=row["unit"] or "",
    )


def recommendations(
    by_condition: list[Row], by_lab: list[Row], codes: dict[str, str], values: dict[str, float]
) -> list[Recommendation]:
    matches: dict[str, _Match] = {}
    for row in by_condition:
        matches.setdefault(row["id"], _Match(row)).conditions.add(codes[row["target"]])
    for row in by_lab:
        observed = values[row["target"]] * float(row["factor"] or 1.0)
        if threshold_of(row).holds(observed):
            matches.setdefault(row["id"], _Match(row)).labs.add(row["target"])
    out = []
    for rec_id, match in matches.items():
        row = match.row
        if (row["needs_condition"] and not match.conditions) or (
            row["needs_lab"] and not match.labs
        ):
            continue
        out.append(
            Recommendation(
                id=f"kg:Recommendation/{rec_id}",
                source=row["source"],
                text=row["text"],
                strength=row["strength"],
                evidence=row["evidence"],
                guideline=GuidelineRef(
                    id=row["g_id"],
                    org=row["g_org"],
                    title=row["g_title"],
                    year=int(row["g_year"]),
                    version=row["g_version"],
                    url=row["g_url"],
                ),
                matched_conditions=sorted(match.conditions),
                matched_labs=sorted(match.labs),
            )
        )
    return sorted(out, key=lambda r: (r.guideline.org, r.id))
