"""How much of a record the deterministic checks can read: results, conditions, allergies, issues.

For every bundle given (default: the third-party bundles in tests/data/fhir-external and the
shipped scenarios in data/patients), counts

- results: numeric results counted under an analyte we hold a reference range for, and results
  flagged against a range at all (ours, or the laboratory's own, or its H/L flag);
- conditions: active conditions that reach a knowledge-graph condition code (ICD-10-CM), and
  those that do not; conditions not active (resolved, refuted...) are counted apart;
- allergies: active allergies, "no known allergy" entries, and inactive/refuted ones;
- data issues named on the record, by kind, and bundles that could not be read at all.

    .venv/bin/python benchmarks/record_coverage.py [PATH ...] [--per-bundle]
"""

from __future__ import annotations

import argparse
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.domain import PatientRecord
from core.logging import configure_logging
from core.settings import REPO_ROOT
from tools.fhir import parse_bundle
from tools.labs.flags import lab_flags
from tools.labs.ranges import range_for

DEFAULT = (REPO_ROOT / "tests" / "data" / "fhir-external", REPO_ROOT / "data" / "patients")
NOW = datetime(2026, 12, 6, tzinfo=UTC)
_FLAGGED = frozenset({"N", "L", "H", "LL", "HH", "implausible"})


def _conditions(record: PatientRecord) -> Counter[str]:
    try:  # the resolution layer, where this tree has it
        from tools.resolve.conditions import resolve_conditions
    except ImportError:
        out: Counter[str] = Counter()
        for p in record.problems:
            coded = any("icd-10" in c.system and c.code for c in p.codings)
            out["resolved" if coded else "unresolved"] += 1
        return out
    return Counter(r.outcome for r in resolve_conditions(record.problems))


def _allergies(record: PatientRecord) -> Counter[str]:
    try:
        from tools.resolve.allergies import resolve_allergies
    except ImportError:
        return Counter({"active": len(record.allergies)})
    return Counter(r.outcome for r in resolve_allergies(record.allergies))


def coverage(record: PatientRecord) -> Counter[str]:
    numeric = [o for o in record.observations if o.value is not None]
    out: Counter[str] = Counter(
        results=len(numeric),
        results_with_analyte=sum(1 for o in numeric if o.loinc and range_for(o.loinc)),
        results_flagged=sum(1 for f in lab_flags(record) if f.flag in _FLAGGED),
        data_issues=len(record.data_issues),
    )
    out.update({f"conditions_{k}": v for k, v in _conditions(record).items()})
    out.update({f"allergies_{k}": v for k, v in _allergies(record).items()})
    out.update(Counter(f"issue:{i.kind}" for i in record.data_issues))
    return out


def bundles(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        found = sorted(path.glob("*.json")) if path.is_dir() else [path]
        files += [f for f in found if f.name != "SOURCES.json"]
    return files


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, default=list(DEFAULT))
    parser.add_argument("--per-bundle", action="store_true")
    args = parser.parse_args(argv)
    configure_logging(level="WARNING")
    for path in args.paths:
        print(f"== {path}")
        total: Counter[str] = Counter()
        failed: list[str] = []
        for file in bundles([path]):
            try:
                counts = coverage(parse_bundle(file, now=NOW))
            except Exception as exc:
                failed.append(f"{file.name}: {type(exc).__name__}")
                continue
            total.update(counts)
            if args.per_bundle:
                print(file.stem, dict(sorted(counts.items())))
        _report(total, failed)


def _report(total: Counter[str], failed: list[str]) -> None:
    rows: list[tuple[str, Any]] = [
        ("bundles unreadable", len(failed)),
        ("numeric results", total["results"]),
        ("  counted under an analyte we hold a range for", total["results_with_analyte"]),
        ("  flagged against a range or the lab's flag", total["results_flagged"]),
    ]
    rows += [
        (f"conditions {k[11:]}", v) for k, v in sorted(total.items()) if k[:11] == "conditions_"
    ]
    rows += [(f"allergies {k[10:]}", v) for k, v in sorted(total.items()) if k[:10] == "allergies_"]
    rows.append(("data issues named", total["data_issues"]))
    rows += [(f"  {k[6:]}", v) for k, v in sorted(total.items()) if k.startswith("issue:")]
    width = max(len(r[0]) for r in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    for line in failed:
        print("  unreadable:", line)


if __name__ == "__main__":
    main()
