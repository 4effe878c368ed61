"""Observing a graph store: one proxy, any number of listeners.

``ObservedGraphStore`` passes each named query of the ``GraphStore`` protocol to the store it
wraps, then tells every observer what was asked and what came back (a ``KgQuery``), the way
``ModelClient.observers`` hears of model calls. The audit trail (``graphs.audit``: one
``kg.query`` event per query) and eval transcripts (``evals.kg_io``: one line per query) are two
such observers. The proxy implements the protocol method by method (mypy checks it against
``GraphStore``); ``stats`` and ``close`` pass through unobserved, and a backend's own helpers
(``content_version``, ``cache_clear``) are reached through ``inner``.

Observers run synchronously in the caller's thread and context, after the query returned or
raised; an observer that raises fails the query (an audit that cannot be written must not be
skipped silently). ``observe`` never changes a store it is given: it returns a new proxy over the
same store, so a listener added for one round does not leak into another.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

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
from kg.store import GraphStore

T = TypeVar("T")

UNOBSERVED = frozenset({"stats", "close"})
"""Members of the protocol that are housekeeping, not clinical queries: passed on unheard."""
QUERIES: frozenset[str] = (
    frozenset(
        name
        for name, member in vars(GraphStore).items()
        if inspect.isfunction(member) and not name.startswith("_")
    )
    - UNOBSERVED
)
"""The named queries of the ``GraphStore`` protocol: what an observer hears of."""


@dataclass(frozen=True)
class KgQuery:
    """One named query, as asked and as answered (``error`` set when it raised)."""

    name: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    backend: str
    result: Any = None
    error: Exception | None = None
    duration_ms: float = 0.0

    @property
    def parameters(self) -> dict[str, Any]:
        """The arguments by parameter name, defaults filled in (from the protocol's signature);
        sequences as lists and mappings as dicts, so they serialize as JSON."""
        bound = inspect.signature(getattr(GraphStore, self.name)).bind(
            None, *self.args, **self.kwargs
        )
        bound.apply_defaults()
        return {k: _plain(v) for k, v in list(bound.arguments.items())[1:]}


QueryObserver = Callable[[KgQuery], object]
"""Told of every query; its return value is ignored."""


@dataclass
class ObservedGraphStore:
    """A ``GraphStore`` whose named queries are reported to ``observers`` (see the module)."""

    inner: GraphStore
    observers: tuple[QueryObserver, ...] = field(default=())
    backend: str = field(init=False)

    def __post_init__(self) -> None:
        self.backend = self.inner.backend

    def resolve_drugs(self, names_or_codes: Sequence[str]) -> DrugResolution:
        return self._asked("resolve_drugs", self.inner.resolve_drugs, names_or_codes)

    def drug_terms(self) -> dict[str, list[str]]:
        return self._asked("drug_terms", self.inner.drug_terms)

    def interactions_among(self, drug_ids: Sequence[str]) -> list[Interaction]:
        return self._asked("interactions_among", self.inner.interactions_among, drug_ids)

    def contraindications(
        self,
        drug_ids: Sequence[str],
        *,
        conditions: Sequence[str] = (),
        labs: Mapping[str, float] | None = None,
        allergies: Sequence[str] = (),
        pregnant: bool = False,
    ) -> list[Contraindication]:
        return self._asked(
            "contraindications",
            self.inner.contraindications,
            drug_ids,
            conditions=conditions,
            labs=labs,
            allergies=allergies,
            pregnant=pregnant,
        )

    def allergy_conflicts(self, drug_ids: Sequence[str], allergies: Sequence[str]) -> AllergyReport:
        return self._asked("allergy_conflicts", self.inner.allergy_conflicts, drug_ids, allergies)

    def monitoring_for(self, drug_ids: Sequence[str]) -> list[Monitoring]:
        return self._asked("monitoring_for", self.inner.monitoring_for, drug_ids)

    def recommendations_for(
        self, conditions: Sequence[str] = (), labs: Mapping[str, float] | None = None
    ) -> list[Recommendation]:
        return self._asked("recommendations_for", self.inner.recommendations_for, conditions, labs)

    def phenotype_differential(
        self, hpo_ids: Sequence[str], limit: int = 10
    ) -> list[PhenotypeMatch]:
        return self._asked(
            "phenotype_differential", self.inner.phenotype_differential, hpo_ids, limit
        )

    def lab_test(self, loinc: str) -> LabTest | None:
        return self._asked("lab_test", self.inner.lab_test, loinc)

    def existing_facts(self, fact_ids: Sequence[str]) -> set[str]:
        return self._asked("existing_facts", self.inner.existing_facts, fact_ids)

    def query_readonly(
        self, cypher: str, params: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        return self._asked("query_readonly", self.inner.query_readonly, cypher, params)

    def stats(self) -> GraphStats:
        return self.inner.stats()

    def close(self) -> None:
        self.inner.close()

    def _asked(self, name: str, query: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        started = time.perf_counter()
        try:
            result = query(*args, **kwargs)
        except Exception as exc:
            self._tell(KgQuery(name, args, kwargs, self.backend, None, exc, _ms_since(started)))
            raise
        self._tell(KgQuery(name, args, kwargs, self.backend, result, None, _ms_since(started)))
        return result

    def _tell(self, query: KgQuery) -> None:
        for observer in self.observers:
            observer(query)


def observe(store: GraphStore, observer: QueryObserver) -> ObservedGraphStore:
    """``store``'s queries reported to ``observer`` as well as to any it already had: a new
    proxy over the same store (one layer however many listen; ``store`` itself is unchanged)."""
    if isinstance(store, ObservedGraphStore):
        if observer in store.observers:
            return store
        return ObservedGraphStore(store.inner, (*store.observers, observer))
    return ObservedGraphStore(store, (observer,))


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000.0, 3)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return list(value)
    return value
