"""Medication resolution coverage: current drugs resolved / unresolved per bundle, and how.

For every bundle of the third-party development set (``tests/data/fhir-external``) and every
shipped scenario (``data/patients``), the medications the patient is on now are resolved to KG
ingredients with the same code the guideline checker uses, against a freshly loaded curated KG
(scope "none": no open data is needed for drugs). Printed per bundle: current medications,
resolved, unresolved (with why), how each ingredient was read, and the interaction,
contraindication and allergy-conflict findings the KG checks then produce (model not involved).

On a commit without ``tools.resolve`` (before issue 13) it falls back to that commit's own
resolution (``agents.kg_checks.patient_facts``: the record's ``active_medications``, RxNorm code
then name), so the same command measures before and after.

Usage: ``PYTHONPATH=. .venv/bin/python benchmarks/resolution_coverage.py [--bundles DIR ...]
[--details]``.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from agents.kg_checks import kg_findings, patient_facts
from core.domain import PatientRecord
from core.settings import REPO_ROOT, SHIPPED_DATA, Settings
from kg.load import load_ladybug
from kg.store import GraphStore, open_store
from tools.fhir.parse import parse_bundle

DEFAULT_DIRS = (REPO_ROOT / "tests" / "data" / "fhir-external", SHIPPED_DATA / "patients")
CHECKS = ("interaction", "contraindication", "allergy_conflict")


def _bundles(dirs: list[Path]) -> list[Path]:
    out: list[Path] = []
    for folder in dirs:
        out.extend(p for p in sorted(folder.glob("*.json")) if p.name != "SOURCES.json")
    return out


def _coverage(store: GraphStore, record: PatientRecord) -> tuple[int, int, list[str], Counter[str]]:
    """(current medications, how many resolved, what was not read with why, reads by how)."""
    try:
        from tools.resolve.medications import resolve_record
    except ImportError:  # before issue 13: that commit's own resolution
        facts = patient_facts(store, record)
        meds = record.active_medications()
        missing = [m.name for m in meds if m.name in facts.unresolved]
        resolved = len(meds) - len(missing)
        return len(meds), resolved, missing, Counter({"code or name (before)": resolved})
    resolutions = resolve_record(store, record)
    missing = [f"{r.text} ({r.why})" for r in resolutions if not r.resolved]
    missing += [f"{part} in {r.text}" for r in resolutions for part in r.unresolved]
    hows = Counter(i.how for r in resolutions for i in r.ingredients)
    return len(resolutions), sum(r.resolved for r in resolutions), missing, hows


def _row(store: GraphStore, path: Path) -> tuple[str, int, int, list[str], Counter[str], Any]:
    record = parse_bundle(path)
    current, resolved, missing, hows = _coverage(store, record)
    findings = asyncio.run(kg_findings(store, record))
    kinds = Counter(f.kind for f in findings if f.kind in CHECKS)
    return path.stem, current, resolved, missing, hows, kinds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundles", type=Path, nargs="*", default=list(DEFAULT_DIRS))
    parser.add_argument("--details", action="store_true", help="list every unresolved drug")
    args = parser.parse_args()
    settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix="wardround-coverage-")))
    settings.kg_path.parent.mkdir(parents=True)
    load_ladybug(settings.kg_path, scope="none", show_progress=False)
    store = open_store(settings)
    print("| bundle | current meds | resolved | unresolved | how read | int / contra / allergy |")
    print("| --- | --- | --- | --- | --- | --- |")
    totals = Counter[str]()
    for path in _bundles(args.bundles):
        name, current, resolved, missing, hows, kinds = _row(store, path)
        how = ", ".join(f"{k} {v}" for k, v in sorted(hows.items()))
        checks = " / ".join(str(kinds[k]) for k in CHECKS)
        print(f"| {name} | {current} | {resolved} | {current - resolved} | {how} | {checks} |")
        totals.update({"current": current, "resolved": resolved, **hows})
        if args.details:
            for item in missing:
                print(f"|   unresolved: {item} | | | | | |")
    print(f"\nTotal: {totals['resolved']}/{totals['current']} current medications resolved.")
    store.close()


if __name__ == "__main__":
    main()
