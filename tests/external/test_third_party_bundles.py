"""Third-party FHIR bundles (Synthea, IPS documents): the findings a ward pharmacist expects.

Each bundle of ``tests/data/fhir-external`` gets one ward round with the model down (every chat
request answers 503); the expectations of ``expected.yaml`` marked ``status: required`` must hold
(an expected finding is among the rule findings; an ``absent`` one is not). The other entries are
measured by ``benchmarks/third_party_findings.py`` until the work that makes them fire lands.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from evals.third_party import (
    BUNDLES,
    EXPECTED,
    KINDS,
    STATEMENT,
    Expectation,
    finding_matches,
    load_expectations,
    met,
    questions,
    round_with_model_down,
)
from graphs.result import WardRoundResult
from kg.store import GraphStore

EXPECTATIONS = load_expectations()
SOURCES = json.loads((BUNDLES / "SOURCES.json").read_text("utf-8"))


def required() -> list[Any]:
    return [
        pytest.param(exp, id=f"{exp.bundle}-{i}-{exp.kind}")
        for bundle, exps in sorted(EXPECTATIONS.items())
        for i, exp in enumerate(exps)
        if exp.required
    ]


@pytest.fixture(scope="module")
def rounds() -> dict[str, WardRoundResult]:
    return {}


@pytest.mark.parametrize("expected", required())
async def test_a_required_expectation_holds_with_the_model_down(
    curated_kg: GraphStore, rounds: dict[str, WardRoundResult], expected: Expectation
) -> None:
    if expected.bundle not in rounds:
        question = questions()[expected.bundle]
        rounds[expected.bundle] = await round_with_model_down(curated_kg, expected.bundle, question)
    result = rounds[expected.bundle]
    assert result.degraded
    shown = [f"[{f.kind}] {f.summary[:160]}" for f in result.findings if f.origin == "rule"]
    assert met(expected, result), (expected.why, shown)


def test_every_bundle_has_expectations_with_a_reason() -> None:
    files = {entry["file"].removesuffix(".json") for entry in SOURCES}
    assert set(EXPECTATIONS) == files == {p.stem for p in BUNDLES.glob("*.json")} - {"SOURCES"}
    raw = yaml.safe_load(EXPECTED.read_text("utf-8"))["bundles"]
    for bundle, spec in raw.items():
        assert spec["about"]
        assert spec["question"]
        for item in spec["expect"]:
            assert item["status"] in ("required", "pending"), (bundle, item)
            assert item["owner"] in ("meds", "facts", "notes", "kg"), (bundle, item)
            assert len(item["why"]) > 15, (bundle, item)
            assert item["kind"] in KINDS or item["kind"] in (STATEMENT, "calculation", "allergy")
            assert item["kind"] != STATEMENT or item.get("text"), (bundle, item)
    assert sum(e.required for exps in EXPECTATIONS.values() for e in exps) >= 20


def _expected_interactions() -> list[Any]:
    return [
        pytest.param(exp, id=f"{exp.bundle}-{'+'.join(exp.drugs)}")
        for exps in EXPECTATIONS.values()
        for exp in exps
        if exp.kind == "interaction" and not exp.absent
    ]


@pytest.mark.parametrize("expected", _expected_interactions())
def test_an_expected_interaction_is_a_kg_fact_with_the_source_quoted(
    curated_kg: GraphStore, expected: Expectation
) -> None:
    """The interaction a pharmacist expects is in the KG between those ingredients, citing the
    reference the expectation quotes: so the expectation fails only for want of resolution."""
    resolved = curated_kg.resolve_drugs(list(expected.drugs)).resolved
    assert {d.name for d in resolved} == set(expected.drugs)
    facts = curated_kg.interactions_among([d.id for d in resolved])
    assert facts, expected.drugs
    assert any(expected.source in fx.source for fx in facts), [fx.source for fx in facts]


def test_a_finding_matches_on_kind_drugs_labs_and_text() -> None:
    from core.domain import Finding, Severity

    finding = Finding(
        id="interaction:x",
        kind="interaction",
        severity=Severity.high,
        summary="Interaction methotrexate + naproxen (major): toxicity.",
        drugs=("methotrexate", "naproxen"),
    )
    exp = Expectation(bundle="b", kind="interaction", why="w", drugs=("methotrexate", "naproxen"))
    assert finding_matches(exp, finding)
    assert not finding_matches(
        Expectation("b", "interaction", "w", drugs=("naproxen", "x")), finding
    )
    assert not finding_matches(Expectation("b", "contraindication", "w"), finding)
    assert finding_matches(Expectation("b", "interaction", "w", text="TOXICITY"), finding)
    assert not finding_matches(Expectation("b", "interaction", "w", labs=("2160-0",)), finding)
    model_said = finding.model_copy(update={"origin": "model"})
    assert not finding_matches(exp, model_said)
