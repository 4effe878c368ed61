"""Write the hand-authored scenario bundles in this directory: ``python data/patients/build_scenarios.py``.

Deterministic: the same code writes byte-identical JSON. Each bundle is one synthetic ward
admission (the ``HTEST`` security label marks it as test data). Codes are real: LOINC (check digit
verified), RxNorm ingredient CUIs, ICD-10-CM (verified against ``simple-icd-10-cm``) and SNOMED CT
where known. The expected deterministic findings live in ``scenarios.yaml``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from scenario_kit import Admission  # noqa: E402
from scenarios_a import SCENARIOS_A  # noqa: E402
from scenarios_b import SCENARIOS_B  # noqa: E402


def write_all(builders: list[Callable[[], tuple[Admission, dict]]]) -> list[Path]:
    written = []
    for build in builders:
        adm, patient = build()
        path = HERE / f"{adm.pid}.json"
        path.write_text(json.dumps(adm.bundle(patient), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        written.append(path)
    return written


def check(paths: list[Path]) -> None:
    """Every code well formed and every bundle parses without data issues."""
    repo = HERE.parent.parent
    sys.path.insert(0, str(repo))
    import simple_icd_10_cm as icd

    from tools.fhir.codes import ICD10CM, LOINC, is_valid_loinc
    from tools.fhir.parse import parse_bundle

    for path in paths:
        doc = json.loads(path.read_text(encoding="utf-8"))
        for e in doc["entry"]:
            for c in _codings(e["resource"]):
                if c.get("system") == LOINC and not is_valid_loinc(c["code"]):
                    raise SystemExit(f"{path.name}: bad LOINC {c['code']}")
                if c.get("system") == ICD10CM and not icd.is_valid_item(c["code"]):
                    raise SystemExit(f"{path.name}: bad ICD-10-CM {c['code']}")
        record = parse_bundle(path, now=datetime(2026, 1, 1, tzinfo=UTC))
        if record.data_issues:
            raise SystemExit(f"{path.name}: {record.data_issues}")


def _codings(node: object) -> list[dict]:
    found: list[dict] = []
    if isinstance(node, dict):
        if "system" in node and "code" in node:
            found.append(node)
        for v in node.values():
            found.extend(_codings(v))
    elif isinstance(node, list):
        for v in node:
            found.extend(_codings(v))
    return found


if __name__ == "__main__":
    paths = write_all([*SCENARIOS_A, *SCENARIOS_B])
    check(paths)
    print(f"wrote {len(paths)} scenario bundles")
