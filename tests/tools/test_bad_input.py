"""Nothing in a third-party record crashes a round: carebundle patients (Apache-2.0, generated
here, deterministic per seed) damaged the ways other systems damage records are still read, the
damage is a named data issue, and the deterministic checks still run on the rest."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from carebundle import generate_bundle, to_json

from agents.record_status import record_status_findings
from agents.rules import lab_rule_findings
from tools.fhir import parse_bundle

NOW = datetime(2025, 6, 2, 9, tzinfo=UTC)
Damage = Callable[[dict[str, Any]], None]


@pytest.fixture(scope="module")
def patient() -> dict[str, Any]:
    bundle = generate_bundle(profile="ckd_stage3", seed=11, sex="F", reference_date=NOW.date())
    return dict(json.loads(to_json(bundle)))


def _first(bundle: dict[str, Any], rtype: str, has: str = "") -> dict[str, Any]:
    """The first resource of ``rtype`` (holding the element ``has``), itself, to damage."""
    for entry in bundle["entry"]:
        r: dict[str, Any] = entry["resource"]
        if r["resourceType"] == rtype and (not has or has in r):
            return r
    raise AssertionError(f"no {rtype} with {has}")


def _set(rtype: str, has: str, change: Callable[[dict[str, Any]], None]) -> Damage:
    def damage(bundle: dict[str, Any]) -> None:
        change(_first(bundle, rtype, has))

    return damage


DAMAGE: dict[str, Damage] = {
    "value as text": _set("Observation", "valueQuantity",
                          lambda r: r["valueQuantity"].update(value="n/a")),
    "no unit": _set("Observation", "valueQuantity",
                    lambda r: r["valueQuantity"].update(unit="", code="")),
    "date in words": _set("Observation", "effectiveDateTime",
                          lambda r: r.update(effectiveDateTime="yesterday")),
    "no code": _set("Condition", "code", lambda r: r.pop("code")),
    "unknown element": _set("MedicationRequest", "", lambda r: r.update(dosageInstructions=[])),
    "range as prose": _set("Observation", "valueQuantity",
                           lambda r: r.update(referenceRange=[{"text": "see comment"}])),
    "status not in the value set": _set("Condition", "", lambda r: r.update(
        clinicalStatus={"coding": [{"code": "maybe"}]})),
}  # fmt: skip


@pytest.mark.parametrize("what", sorted(DAMAGE))
def test_a_damaged_record_is_read_and_checked(patient: dict[str, Any], what: str) -> None:
    damaged = copy.deepcopy(patient)
    DAMAGE[what](damaged)
    record = parse_bundle(damaged, now=NOW)
    assert record.observations  # the rest of the record is still there
    findings = lab_rule_findings(record, NOW) + record_status_findings(record, NOW)
    assert all(f.origin == "rule" for f in findings)


@pytest.mark.parametrize("what", ["value as text", "date in words", "unknown element"])
def test_an_invalid_element_is_named_with_its_path(patient: dict[str, Any], what: str) -> None:
    damaged = copy.deepcopy(patient)
    DAMAGE[what](damaged)
    record = parse_bundle(damaged, now=NOW)
    unreadable = [i for i in record.data_issues if i.kind == "unreadable"]
    assert len(unreadable) == 1
    assert unreadable[0].path.startswith("Bundle.entry[")
    named = [f for f in record_status_findings(record, NOW) if f.id == "data_issue:unreadable"]
    assert unreadable[0].path in named[0].summary


@pytest.mark.parametrize(("profile", "seed"), [("type2_diabetes", 3), ("anaemia", 5)])
def test_carebundle_patients_read_without_issues(profile: str, seed: int) -> None:
    bundle = generate_bundle(profile=profile, seed=seed, sex="M", reference_date=date(2025, 6, 2))
    record = parse_bundle(json.loads(to_json(bundle)), now=NOW)
    assert not [i for i in record.data_issues if i.kind in ("unreadable", "unit_assumed")]
    assert all(o.loinc for o in record.observations if o.value is not None)
