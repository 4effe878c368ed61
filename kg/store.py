"""The one ``GraphStore`` protocol: named clinical queries; callers never write Cypher.

Two backends implement it (``kg.ladybug_store.LadybugStore``, the embedded default, and
``kg.neo4j_store.Neo4jStore`` over Bolt) and both pass ``tests/kg/test_conformance.py``. Build one
with :func:`open_store`; it is cheap to share across threads and must be closed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from core.errors import GraphStoreError
from core.settings import Settings
from kg.models import (
    AllergyReport,
    Contraindication,
    DrugResolution,
    GraphStats,
    Interaction,
    LabTest,
    Monitoring,
    PhenotypeMatch,
    Recommendation,
)

if TYPE_CHECKING:
    from kg.neo4j_store import Neo4jStore


@runtime_checkable
class GraphStore(Protocol):
    """Named queries over the medical knowledge graph. Drug ids are ``kg:Drug/...`` (or bare)."""

    backend: str

    def resolve_drugs(self, names_or_codes: Sequence[str]) -> DrugResolution:
        """Names, synonyms, brand names, RxNorm CUIs or ATC codes -> drug nodes (case-insensitive).

        A combination name (``co-trimoxazole``) resolves to each ingredient.
        """
        ...

    def drug_terms(self) -> dict[str, list[str]]:
        """Every drug name, synonym and brand the graph resolves (lower case; no codes) -> the
        drug(s) it names: the vocabulary a near-miss spelling is compared against."""
        ...

    def interactions_among(self, drug_ids: Sequence[str]) -> list[Interaction]: ...

    def contraindications(
        self,
        drug_ids: Sequence[str],
        *,
        conditions: Sequence[str] = (),
        labs: Mapping[str, float] | None = None,
        allergies: Sequence[str] = (),
        pregnant: bool = False,
    ) -> list[Contraindication]:
        """Facts that apply: ``conditions`` are ICD-10-CM codes (a fact on ``N17`` matches
        ``N17.9``); ``labs`` maps LOINC -> value in that code's unit (see :meth:`lab_test`)."""
        ...

    def allergy_conflicts(
        self, drug_ids: Sequence[str], allergies: Sequence[str]
    ) -> AllergyReport: ...

    def monitoring_for(self, drug_ids: Sequence[str]) -> list[Monitoring]: ...

    def recommendations_for(
        self, conditions: Sequence[str] = (), labs: Mapping[str, float] | None = None
    ) -> list[Recommendation]: ...

    def phenotype_differential(
        self, hpo_ids: Sequence[str], limit: int = 10
    ) -> list[PhenotypeMatch]: ...

    def lab_test(self, loinc: str) -> LabTest | None: ...

    def existing_facts(self, fact_ids: Sequence[str]) -> set[str]:
        """The subset of ``fact_ids`` (citations) that exist in the graph."""
        ...

    def stats(self) -> GraphStats: ...

    def query_readonly(
        self, cypher: str, params: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Ad-hoc read-only Cypher for developers and auditors; write clauses are rejected."""
        ...

    def close(self) -> None: ...


def connect_neo4j(settings: Settings) -> Neo4jStore:
    """The Neo4j server of ``WARDROUND_NEO4J_URI`` (with ``_USER``/``_PASSWORD``)."""
    from kg.neo4j_store import Neo4jStore

    if not settings.neo4j_uri:
        raise GraphStoreError("the neo4j backend needs WARDROUND_NEO4J_URI, which is not set")
    return Neo4jStore.connect(
        settings.neo4j_uri,
        user=settings.neo4j_user,
        password=settings.neo4j_password.get_secret_value(),
    )


def open_store(settings: Settings, read_only: bool = True) -> GraphStore:
    """The configured backend. LadybugDB opens its directory read-only unless asked otherwise."""
    if settings.kg_backend == "neo4j":
        return connect_neo4j(settings)
    from kg.ladybug_store import LadybugStore

    path = settings.kg_path
    if not path.exists():
        raise GraphStoreError(f"no knowledge graph at {path}: run `wardround kg load` first")
    return LadybugStore.open(path, read_only=read_only)
