"""Write the carebundle-generated outpatients in this directory: ``python data/patients/generate_carebundle.py``.

carebundle 0.5 (Apache-2.0) returns US Core transaction bundles whose resources have no ``id`` and
reference each other by ``urn:uuid:``. wardround cites facts by ``ResourceType/id``, so this script
mints ids from the ``fullUrl`` (the Patient's id is the file stem), rewrites references to the
relative form, and writes a ``collection`` bundle. carebundle's output is byte-identical for a
seed and version (its determinism contract), so this script is deterministic too.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from carebundle import generate_bundle, to_json

HERE = Path(__file__).resolve().parent
# (file stem, carebundle profile, seed, sex): the four profiles issue 4 asks for.
COHORT = [
    ("cb-t2dm-01", "type2_diabetes", 42, "F"),
    ("cb-htn-01", "hypertension", 7, "M"),
    ("cb-ckd3-01", "ckd_stage3", 11, "F"),
    ("cb-anaemia-01", "anaemia", 23, "M"),
]
REFERENCE_DATE = date(2025, 6, 2)
CLINIC = "OPD"


def _rewrite(node: Any, targets: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {
            k: (targets.get(v, v) if k == "reference" and isinstance(v, str) else _rewrite(v, targets))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rewrite(v, targets) for v in node]
    return node


def collection(stem: str, transaction: dict[str, Any]) -> dict[str, Any]:
    entries = transaction["entry"]
    ids: dict[str, str] = {}
    targets: dict[str, str] = {}
    for e in entries:
        rtype = e["resource"]["resourceType"]
        rid = stem if rtype == "Patient" else e["fullUrl"].removeprefix("urn:uuid:")
        ids[e["fullUrl"]] = rid
        targets[e["fullUrl"]] = f"{rtype}/{rid}"
    out = []
    for e in entries:
        res = _rewrite(e["resource"], targets)
        res = {"resourceType": res["resourceType"], "id": ids[e["fullUrl"]], **{k: v for k, v in res.items() if k != "resourceType"}}
        if res["resourceType"] == "Encounter":
            res["location"] = [{"location": {"display": CLINIC}, "status": "completed"}]
        out.append({"fullUrl": f"urn:uuid:{ids[e['fullUrl']]}" if res["resourceType"] != "Patient" else f"urn:wardround:Patient/{stem}", "resource": res})
    return {"resourceType": "Bundle", "id": stem, "type": "collection", "entry": out}


def main() -> None:
    for stem, profile, seed, sex in COHORT:
        bundle = generate_bundle(profile=profile, seed=seed, sex=sex, reference_date=REFERENCE_DATE)
        doc = collection(stem, json.loads(to_json(bundle)))
        (HERE / f"{stem}.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(COHORT)} carebundle patients")


if __name__ == "__main__":
    main()
