"""Write a :class:`GraphContent` into Neo4j (or FalkorDB over Bolt) in parameterized batches.

Neo4j has no atomic swap of a whole graph, so the content is fully read and validated before the
database is touched, the old content is then replaced, and the content version is written last:
an interrupted load leaves no version and the next load rebuilds.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping

from core.errors import GraphStoreError
from kg.content import GraphContent, Row
from kg.neo4j_store import Neo4jStore
from kg.schema import NODES, REL_BY_TYPE, NodeTable, RelTable

Progress = Callable[[str, int], None]
BATCH_ROWS = 2000
FALKORDB_BATCH_BYTES = 1800
"""FalkorDB 4.16's Bolt endpoint crashed the server on messages of ~4 KB of parameters (measured:
4 rows x 500 B passed, 8 x 500 B crashed), so its batches are bounded by size, not row count."""


def create_schema(store: Neo4jStore) -> None:
    for node in NODES:
        if store.dialect == "neo4j":
            store.write(
                f"CREATE CONSTRAINT {node.label.lower()}_id IF NOT EXISTS "
                f"FOR (n:{node.label}) REQUIRE n.id IS UNIQUE"
            )
        else:
            try:
                store.write(f"CREATE INDEX FOR (n:{node.label}) ON (n.id)")
            except GraphStoreError as exc:  # already indexed on a reused graph
                if "already indexed" not in str(exc).lower():
                    raise
    if store.dialect == "neo4j":
        store.write("CREATE INDEX condition_code IF NOT EXISTS FOR (n:Condition) ON (n.code)")


def clear(store: Neo4jStore) -> None:
    """Delete everything in bounded chunks (a single DETACH DELETE of 1M edges exhausts memory)."""
    while True:
        rows = store.write("MATCH (n) WITH n LIMIT 5000 DETACH DELETE n RETURN count(*) AS n")
        if not rows or int(rows[0]["n"]) == 0:
            return


def _props(names: list[str], var: str = "r") -> str:
    return ", ".join(f"{name}: {var}.{name}" for name in names)


def write_nodes(store: Neo4jStore, table: NodeTable, rows: list[Row], progress: Progress) -> None:
    names = [name for name, _ in table.props]
    query = f"UNWIND $rows AS r CREATE (:{table.label} {{{_props(names)}}})"
    for batch in batches(store, rows):
        store.write(query, {"rows": batch})
        progress(table.label, len(batch))


def write_rels(
    store: Neo4jStore, table: RelTable, rows: list[Row], *, src: str, dst: str, progress: Progress
) -> None:
    names = [name for name, _ in table.props]
    body = f" {{{_props(names)}}}" if names else ""
    query = (
        f"UNWIND $rows AS r MATCH (a:{src} {{id: r._from}}) MATCH (b:{dst} {{id: r._to}}) "
        f"CREATE (a)-[:{table.type}{body}]->(b)"
    )
    for batch in batches(store, rows):
        store.write(query, {"rows": batch})
        progress(table.type, len(batch))


def batches(store: Neo4jStore, rows: list[Row]) -> Iterator[list[Row]]:
    """Rows without nulls, grouped by count (Neo4j) or by serialized size (FalkorDB)."""
    budget = FALKORDB_BATCH_BYTES if store.dialect == "falkordb" else None
    batch: list[Row] = []
    size = 0
    for raw in rows:
        row = _drop_nulls(raw)
        cost = len(json.dumps(row, default=str)) if budget else 0
        if batch and (len(batch) >= BATCH_ROWS or (budget and size + cost > budget)):
            yield batch
            batch, size = [], 0
        batch.append(row)
        size += cost
    if batch:
        yield batch


def _drop_nulls(row: Row) -> Row:
    """Missing keys read as null in Cypher; sending fewer values keeps Bolt messages small."""
    return {k: v for k, v in row.items() if v is not None}


def write_neo4j(
    store: Neo4jStore, content: GraphContent, meta: Mapping[str, str], progress: Progress
) -> None:
    create_schema(store)
    clear(store)
    for node in NODES:
        if node.label != "Meta":
            write_nodes(store, node, content.node_rows(node.label), progress)
    for (rel_type, src, dst), bucket in sorted(content.rels.items()):
        write_rels(store, REL_BY_TYPE[rel_type], bucket.rows, src=src, dst=dst, progress=progress)
    meta_rows: list[Row] = [{"id": key, "value": value} for key, value in meta.items()]
    write_nodes(store, next(n for n in NODES if n.label == "Meta"), meta_rows, progress)
