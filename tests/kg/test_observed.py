"""Observing the real embedded KG: every named query reaches each observer with its arguments,
answer or error and duration; everything else passes through unobserved; ``observe`` never
changes the store it is given."""

from __future__ import annotations

import inspect

import pytest

from core.errors import WardroundError
from kg.observed import QUERIES, KgQuery, ObservedGraphStore, observe
from kg.store import GraphStore


def test_the_observed_queries_are_the_protocols_named_queries() -> None:
    methods = {
        name
        for name, member in vars(GraphStore).items()
        if inspect.isfunction(member) and not name.startswith("_")
    }
    assert methods - QUERIES == {"stats", "close"}
    assert methods >= QUERIES


def test_each_observer_hears_each_query_with_its_answer(curated_kg: GraphStore) -> None:
    first: list[KgQuery] = []
    second: list[KgQuery] = []
    store = observe(observe(curated_kg, first.append), second.append)
    resolution = store.resolve_drugs(("ibuprofen", "lisinopril"))
    ids = [d.id for d in resolution.resolved]
    found = store.contraindications(ids, conditions=["N17.9"], labs={"2160-0": 2.4})
    assert found == curated_kg.contraindications(ids, conditions=["N17.9"], labs={"2160-0": 2.4})
    assert [q.name for q in first] == ["resolve_drugs", "contraindications"]
    assert first == second
    asked = first[1]
    assert asked.result == found
    assert asked.error is None
    assert asked.duration_ms >= 0
    assert asked.backend == curated_kg.backend
    # by name, defaults filled in, sequences as lists: what an audit event records
    assert asked.parameters == {
        "drug_ids": ids,
        "conditions": ["N17.9"],
        "labs": {"2160-0": 2.4},
        "allergies": [],
        "pregnant": False,
    }
    assert first[0].parameters == {"names_or_codes": ["ibuprofen", "lisinopril"]}


def test_a_failing_query_is_heard_then_raised(curated_kg: GraphStore) -> None:
    heard: list[KgQuery] = []
    store = observe(curated_kg, heard.append)
    with pytest.raises(WardroundError):
        store.query_readonly("MATCH (d:Drug) DETACH DELETE d")
    [query] = heard
    assert isinstance(query.error, WardroundError)
    assert query.result is None
    assert query.parameters == {"cypher": "MATCH (d:Drug) DETACH DELETE d", "params": None}


def test_a_failing_observer_fails_the_query(curated_kg: GraphStore) -> None:
    def broken(query: KgQuery) -> None:
        raise RuntimeError("audit store unwritable")

    with pytest.raises(RuntimeError, match="unwritable"):
        observe(curated_kg, broken).lab_test("2823-3")


def test_everything_else_passes_through_and_the_store_is_never_changed(
    curated_kg: GraphStore,
) -> None:
    heard: list[KgQuery] = []
    once = observe(curated_kg, heard.append)
    twice = observe(once, heard.append)
    assert twice is once  # the same observer is not added twice
    other = observe(once, print)
    assert other is not once
    assert once.observers == (heard.append,)  # adding a listener made a new proxy
    assert other.observers == (heard.append, print)
    assert other.inner is curated_kg  # one layer, however many listen
    assert once.stats() == curated_kg.stats()
    assert once.backend == curated_kg.backend
    assert heard == []
    assert not isinstance(curated_kg, ObservedGraphStore)
