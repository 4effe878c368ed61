"""Neo4j backend over Bolt with the official driver (Neo4j 5 Cypher).

The same class drives FalkorDB's Bolt endpoint in CI (``dialect="falkordb"``): FalkorDB has no
``CREATE CONSTRAINT`` (indexes only) and is known to crash on Bolt parameter lists of ~200 rows,
so the writer sends small batches to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import neo4j
from neo4j.exceptions import Neo4jError, ServiceUnavailable

from core.errors import GraphStoreError
from core.logging import get_logger
from kg.cypher_store import CypherStore, Row
from kg.readonly import check_readonly

log = get_logger(__name__)
Dialect = Literal["neo4j", "falkordb"]


class Neo4jStore(CypherStore):
    backend = "neo4j"

    def __init__(
        self, driver: neo4j.Driver, *, database: str | None = None, dialect: Dialect = "neo4j"
    ) -> None:
        self._driver = driver
        self.database = database
        self.dialect = dialect
        self.backend = dialect

    @classmethod
    def connect(
        cls,
        uri: str,
        *,
        user: str = "neo4j",
        password: str = "",
        database: str | None = None,
        dialect: Dialect = "neo4j",
    ) -> Neo4jStore:
        driver = neo4j.GraphDatabase.driver(uri, auth=(user, password))
        log.debug("kg_opened", backend="neo4j", uri=uri, dialect=dialect)
        return cls(driver, database=database, dialect=dialect)

    def _session(self, access: str) -> neo4j.Session:
        return self._driver.session(database=self.database, default_access_mode=access)

    def _rows(self, query: str, params: Mapping[str, Any]) -> list[Row]:
        # FalkorDB answers READ-mode Bolt sessions from an empty graph (measured), so it reads in
        # WRITE mode; ad-hoc queries are still guarded by check_readonly.
        access = neo4j.READ_ACCESS if self.dialect == "neo4j" else neo4j.WRITE_ACCESS
        return self._run(query, params, access)

    def _run(self, query: str, params: Mapping[str, Any], access: str) -> list[Row]:
        # Auto-commit transactions: FalkorDB's Bolt endpoint does not support explicit ones, and
        # Neo4j enforces the READ access mode on them.
        values = dict(params) if self.dialect == "neo4j" else _falkordb_escaped(dict(params))
        try:
            with self._session(access) as session:
                return [record.data() for record in session.run(query, values)]
        except (Neo4jError, ServiceUnavailable, OSError) as exc:
            raise GraphStoreError(f"{self.dialect} query failed: {exc}") from exc

    def write(self, query: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        """Loader only: run a writing query."""
        return self._run(query, params or {}, neo4j.WRITE_ACCESS)

    def query_readonly(
        self, cypher: str, params: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        return self._rows(check_readonly(cypher), params or {})

    def close(self) -> None:
        self._driver.close()

    def __enter__(self) -> Neo4jStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _falkordb_escaped(value: Any) -> Any:
    """Escape string parameters for FalkorDB's Bolt endpoint.

    FalkorDB 4.16 renders Bolt parameters into query text without escaping (measured: a value
    ``a'b`` fails to parse and ``a\\b`` is stored as ``a<backspace>``); escaping backslash and
    quote stores the exact value. Neo4j receives parameters untouched.
    """
    if isinstance(value, str):
        return value.replace("\\", "\\\\").replace("'", "\\'")
    if isinstance(value, list):
        return [_falkordb_escaped(v) for v in value]
    if isinstance(value, dict):
        return {k: _falkordb_escaped(v) for k, v in value.items()}
    return value
