"""LadybugDB (the maintained Kuzu fork): the embedded, zero-setup backend.

The database is one file under the data dir. Queries open it read-only; only the loader
(:mod:`kg.ladybug_writer`) opens it read-write, and then only a fresh temporary file that is
swapped in atomically when complete.

Drug look-ups (interactions, contraindications) go through a per-drug cache: a read-only store
keeps each drug's fact edges in a bounded LRU (an open read-only file cannot change under it: the
loader swaps in a new file, which a new store opens), and a ward's drug list repeats from round to
round. Misses are fetched with every kind of fact in one ``id IN $ids`` query, because LadybugDB
0.22 answers ``id IN $ids`` with a scan of the whole Drug table (BENCHMARKS.md, knowledge graph);
a few misses go one drug at a time on the primary key instead.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import ladybug

from core.errors import GraphStoreError
from core.logging import get_logger
from kg.cypher_store import CypherStore, Row
from kg.readonly import check_readonly

log = get_logger(__name__)


def run_query(
    conn: ladybug.Connection, query: str, params: Mapping[str, Any] | None = None
) -> list[Row]:
    try:
        result = conn.execute(query, dict(params or {}))
    except RuntimeError as exc:
        raise GraphStoreError(f"LadybugDB query failed: {exc}") from exc
    results = result if isinstance(result, list) else [result]
    last = results[-1]
    columns = last.get_column_names()
    return [dict(zip(columns, values, strict=True)) for values in last.get_all()]


def plain(value: Any) -> Any:
    """Node/relationship values as plain JSON-able dicts (internal ids dropped)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if k not in {"_ID", "_SRC", "_DST"}}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


DRUG_CACHE_ENTRIES = 2048
"""Drugs whose facts a read-only store keeps (a ward formulary is ~1,400 ingredients)."""
PER_DRUG_MISSES = 4
"""Up to this many uncached drugs are fetched one by one on the primary key; more, in one
``id IN $ids`` query (one scan of the Drug table instead of many small queries)."""

# Every fact edge of the listed drugs, whatever is at the other end, in one pass: LadybugDB binds
# a property that only some of the target tables have, and returns null elsewhere. The rows are
# split into the three shapes the set-based queries of kg.queries return (see `_split`).
_FACT_EDGES = "[r:INTERACTS_WITH|CONTRAINDICATED_IN|CAUTION_IN]->(t)"
_FACT_FIELDS = """
RETURN label(r) AS rel, label(t) AS target_label, d.id AS drug, d.name AS drug_name,
       t.id AS target, t.name AS target_name, t.to_analyte AS factor, r.id AS id,
       r.severity AS severity, r.mechanism AS mechanism, r.effect AS effect,
       r.management AS management, r.requires_any AS requires_any, r.source AS source,
       r.level AS level, r.kind AS kind, r.reason AS reason, r.code AS code,
       r.analyte AS analyte, r.lt AS lt, r.le AS le, r.gt AS gt, r.ge AS ge, r.unit AS unit,
       r.manifest_analyte AS manifest_analyte, r.manifest_lt AS manifest_lt,
       r.manifest_le AS manifest_le, r.manifest_gt AS manifest_gt, r.manifest_ge AS manifest_ge,
       r.manifest_unit AS manifest_unit, r.manifest_meaning AS manifest_meaning,
       r.manifest_source AS manifest_source
"""
FACTS_OF_DRUG = f"MATCH (d:Drug {{id: $id}})-{_FACT_EDGES}{_FACT_FIELDS}"
FACTS_OF_DRUGS = f"MATCH (d:Drug)-{_FACT_EDGES}\nWHERE d.id IN $ids{_FACT_FIELDS}"

INTERACTIONS, CONTRA_CONDITIONS, CONTRA_LABS = "interactions", "contra_conditions", "contra_labs"
_CONTRA_KEYS = (
    "id", "drug", "drug_name", "level", "kind", "reason", "management", "code", "source",
    "analyte", "lt", "le", "gt", "ge", "unit",
)  # fmt: skip
_INTERACTION_KEYS = (
    "id", "severity", "mechanism", "effect", "management", "requires_any", "source",
    "manifest_analyte", "manifest_lt", "manifest_le", "manifest_gt", "manifest_ge",
    "manifest_unit", "manifest_meaning", "manifest_source",
)  # fmt: skip


def _split(row: Row) -> tuple[str, Row] | None:
    """A fact-edge row in the shape of its set-based query (``kg.queries``), and its kind."""
    if row["rel"] == "INTERACTS_WITH":
        shaped = {k: row[k] for k in _INTERACTION_KEYS}
        shaped.update(a=row["drug"], a_name=row["drug_name"], b=row["target"])
        shaped["b_name"] = row["target_name"]
        return INTERACTIONS, shaped
    contra = {k: row[k] for k in _CONTRA_KEYS}
    if row["target_label"] == "Condition":
        return CONTRA_CONDITIONS, {"target": row["target"], **contra}
    if row["target_label"] == "LabTest":
        return CONTRA_LABS, {"target": row["target"], "factor": row["factor"], **contra}
    return None


def _by_kind(rows: list[Row]) -> dict[str, list[Row]]:
    kinds: dict[str, list[Row]] = {INTERACTIONS: [], CONTRA_CONDITIONS: [], CONTRA_LABS: []}
    for row in rows:
        split = _split(row)
        if split is not None:
            kinds[split[0]].append(split[1])
    return kinds


class LadybugStore(CypherStore):
    backend = "ladybug"

    def __init__(self, db: ladybug.Database, path: Path, *, read_only: bool) -> None:
        self._db = db
        self._conn = ladybug.Connection(db)
        self._lock = threading.Lock()
        self._drug_rows: OrderedDict[str, dict[str, list[Row]]] = OrderedDict()
        """drug id -> its fact rows by kind (interactions, contra_conditions, contra_labs)."""
        self.per_drug_lookups = True
        """False: the set-based queries of :class:`CypherStore` (the benchmark's baseline)."""
        self.path = path
        self.read_only = read_only

    @classmethod
    def open(cls, path: Path, *, read_only: bool = True) -> LadybugStore:
        if read_only and not path.exists():
            raise GraphStoreError(f"no knowledge graph at {path}: run `wardround kg load` first")
        try:
            db = ladybug.Database(str(path), read_only=read_only)
        except RuntimeError as exc:
            raise GraphStoreError(f"cannot open LadybugDB at {path}: {exc}") from exc
        log.debug("kg_opened", backend="ladybug", path=str(path), read_only=read_only)
        return cls(db, path, read_only=read_only)

    def _rows(self, query: str, params: Mapping[str, Any]) -> list[Row]:
        # One connection, serialized: LadybugDB connections are not meant for concurrent use.
        with self._lock:
            return run_query(self._conn, query, params)

    def _drug_facts(self, kind: str, ids: list[str]) -> list[Row]:
        """Every row of ``kind`` for the drugs ``ids``: from the cache, the misses fetched."""
        with self._lock:
            cached = {d: self._drug_rows.get(d) for d in ids}
            misses = [d for d, facts in cached.items() if facts is None]
            fetched: dict[str, dict[str, list[Row]]] = {}
            if len(misses) > PER_DRUG_MISSES:
                rows: dict[str, list[Row]] = {d: [] for d in misses}
                for row in run_query(self._conn, FACTS_OF_DRUGS, {"ids": misses}):
                    rows[row["drug"]].append(row)
                fetched = {d: _by_kind(r) for d, r in rows.items()}
            else:
                fetched = {
                    d: _by_kind(run_query(self._conn, FACTS_OF_DRUG, {"id": d})) for d in misses
                }
            for drug, facts in cached.items():
                if facts is not None:
                    self._drug_rows.move_to_end(drug)
            if self.read_only:
                self._drug_rows.update(fetched)
                while len(self._drug_rows) > DRUG_CACHE_ENTRIES:
                    self._drug_rows.popitem(last=False)
        found = {**{d: f for d, f in cached.items() if f is not None}, **fetched}
        return [row for d in ids for row in found[d][kind]]

    def _interaction_rows(self, ids: list[str]) -> list[Row]:
        if not self.per_drug_lookups:
            return super()._interaction_rows(ids)
        wanted = set(ids)
        return [r for r in self._drug_facts(INTERACTIONS, ids) if r["b"] in wanted]

    def _contra_condition_rows(self, ids: list[str]) -> list[Row]:
        if not self.per_drug_lookups:
            return super()._contra_condition_rows(ids)
        return self._drug_facts(CONTRA_CONDITIONS, ids)

    def _contra_lab_rows(self, ids: list[str], loincs: list[str]) -> list[Row]:
        if not self.per_drug_lookups:
            return super()._contra_lab_rows(ids, loincs)
        wanted = set(loincs)
        return [r for r in self._drug_facts(CONTRA_LABS, ids) if r["target"] in wanted]

    def cache_clear(self) -> None:
        """Forget the cached drug look-ups (benchmarks measure the cold path with it)."""
        with self._lock:
            self._drug_rows.clear()

    def query_readonly(
        self, cypher: str, params: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        rows = self._rows(check_readonly(cypher), params or {})
        return [{k: plain(v) for k, v in row.items()} for row in rows]

    def close(self) -> None:
        with self._lock:
            self._conn.close()
            self._db.close()

    def __enter__(self) -> LadybugStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
