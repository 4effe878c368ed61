"""Which scores the lab interpreter computes from each record (issue 18, item 2).

For every bundle given (default: the third-party bundles in tests/data/fhir-external and the
shipped scenarios in data/patients), runs ``agents.scores.record_calculation_findings`` once and
prints, per score finding, the records where it was computed (with its opening words), the ones
where it was 'not computed' (its inputs named), and how many were lower bounds.

    .venv/bin/python benchmarks/record_scores.py [PATH ...] [--per-bundle]
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

from agents.scores import record_calculation_findings
from core.logging import configure_logging
from core.settings import REPO_ROOT
from tools.fhir import parse_bundle

DEFAULT = (REPO_ROOT / "tests" / "data" / "fhir-external", REPO_ROOT / "data" / "patients")
NOW = datetime(2026, 12, 6, tzinfo=UTC)
SCORES = ("glasgow_coma_scale", "mean_arterial_pressure", "sirs", "corrected_calcium", "sofa",
          "apache_ii", "pneumonia_severity_index", "computed_from_record")  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, default=list(DEFAULT))
    parser.add_argument("--per-bundle", action="store_true")
    args = parser.parse_args(argv)
    configure_logging(level="WARNING")
    computed: dict[str, list[str]] = defaultdict(list)
    not_computed: dict[str, list[str]] = defaultdict(list)
    bounds: dict[str, int] = defaultdict(int)
    records = 0
    for path in args.paths:
        files = sorted(path.glob("*.json")) if path.is_dir() else [path]
        for file in (f for f in files if f.name != "SOURCES.json"):
            record = parse_bundle(file, now=NOW)
            records += 1
            for finding in record_calculation_findings(record):
                words = finding.summary[:70]
                where = not_computed if " not computed" in finding.summary[:40] else computed
                where[finding.id].append(f"{file.stem}: {words}")
                bounds[finding.id] += "(a lower bound)" in finding.summary
                if args.per_bundle:
                    print(file.stem, finding.id, finding.summary)
    print(f"{records} records")
    for score in SCORES:
        print(f"{score}: computed {len(computed[score])} (lower bounds {bounds[score]}), "
              f"not computed {len(not_computed[score])}")  # fmt: skip
        for line in computed[score] + not_computed[score]:
            print(f"  {line}")


if __name__ == "__main__":
    main()
