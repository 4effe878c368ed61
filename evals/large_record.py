"""A long admission's record, made from a shipped patient: ``aki-on-ckd`` grown to N
Observations (its own, then copies at earlier hourly times, values varied). Used by
``benchmarks/large_record_bench.py`` and ``tests/tools/test_large_record.py``; it lives in an
installed package so both import it from a clean clone.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from core.settings import SHIPPED_DATA

PATIENT = "aki-on-ckd"


def grown_bundle(observations: int) -> dict[str, Any]:
    """``aki-on-ckd`` with ``observations`` Observations: the originals, then dated copies."""
    bundle: dict[str, Any] = json.loads((SHIPPED_DATA / "patients" / f"{PATIENT}.json").read_text())
    originals = [e for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"]
    start = datetime(2025, 7, 8, 9, tzinfo=UTC)
    extra = []
    for n in range(max(0, observations - len(originals))):
        entry = copy.deepcopy(originals[n % len(originals)])
        resource = entry["resource"]
        resource["id"] = f"{PATIENT}-grown-{n}"
        entry["fullUrl"] = f"urn:wardround:Observation/{resource['id']}"
        resource["effectiveDateTime"] = (start - timedelta(hours=n + 1)).isoformat()
        quantity = resource.get("valueQuantity")
        if quantity and isinstance(quantity.get("value"), int | float):
            quantity["value"] = round(quantity["value"] * (0.9 + (n % 7) * 0.03), 2)
        extra.append(entry)
    bundle["entry"].extend(extra)
    return bundle
