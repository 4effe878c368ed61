"""Observing a graph store: one proxy, any number of listeners.

``ObservedGraphStore`` passes each named query of the ``GraphStore`` protocol to the store it
wraps, then tells every observer what was asked and what came back (a ``KgQuery``), the way
``ModelClient.observers`` hears of model calls. The audit trail (``graphs.audit``: one
``kg.query`` event per query) and eval transcripts (``evals.kg_io``: one line per query) are two
such observers. Everything else on the store (``stats``, ``close``, ``content_version``, a
backend's own helpers) is the store's own and passes through unobserved.

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
from typing import Any

from kg.store import GraphStore

QUERIES: frozenset[str] = frozenset(
    {
        "resolve_drugs",
        "interactions_among",
        "contraindications",
        "allergy_conflicts",
        "monitoring_for",
        "recommendations_for",
        "phenotype_differential",
        "lab_test",
        "existing_facts",
        "query_readonly",
    }
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

    inner: Any
    observers: tuple[QueryObserver, ...] = field(default=())

    def __getattr__(self, name: str) -> Any:
        if name in ("inner", "observers"):  # not yet set (copy, pickle): no recursion
            raise AttributeError(name)
        target = getattr(self.inner, name)
        if name not in QUERIES:
            return target
        backend = str(getattr(self.inner, "backend", "unknown"))

        def query(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                result = target(*args, **kwargs)
            except Exception as exc:
                self._tell(KgQuery(name, args, kwargs, backend, None, exc, _ms_since(started)))
                raise
            self._tell(KgQuery(name, args, kwargs, backend, result, None, _ms_since(started)))
            return result

        return query

    def _tell(self, query: KgQuery) -> None:
        for observer in self.observers:
            observer(query)


def observe(store: Any, observer: QueryObserver) -> ObservedGraphStore:
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
