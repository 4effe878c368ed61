"""The guard in front of ad-hoc Cypher: only reading queries pass.

Defence in depth: LadybugDB is also opened read-only and Neo4j runs the query in a READ
transaction, but the guard gives a clear error before any backend sees the text.
"""

from __future__ import annotations

import re

from core.errors import ReadOnlyViolation

_WRITE_CLAUSES = frozenset(
    {
        "CREATE",
        "MERGE",
        "SET",
        "DELETE",
        "DETACH",
        "REMOVE",
        "DROP",
        "LOAD",
        "COPY",
        "ALTER",
        "FOREACH",
        "INSTALL",
        "ATTACH",
        "EXPORT",
        "IMPORT",
        "CHECKPOINT",
        "BEGIN",
        "COMMIT",
        "ROLLBACK",
        "TRUNCATE",
        "INSERT",
        "UPDATE",
        "GRANT",
        "REVOKE",
        "DENY",
        "START",
        "STOP",
        "TERMINATE",
    }
)
# Procedures that only read the schema; any other CALL may write (apoc.create.*, db.create.*).
_READ_PROCEDURES = frozenset(
    {
        "db.labels",
        "db.relationshiptypes",
        "db.propertykeys",
        "db.schema.visualization",
        "db.schema.nodetypeproperties",
        "db.schema.reltypeproperties",
        "db.indexes",
        "db.constraints",
        "show_tables",
        "table_info",
        "show_connection",
    }
)
_STRINGS = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|`[^`]*`")
_COMMENTS = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)
_CALL = re.compile(r"\bCALL\s+([A-Za-z_][\w.]*)", re.IGNORECASE)
_WORD = re.compile(r"(?<![.$\w])[A-Za-z_]\w*")  # not properties (n.set) or $params


def check_readonly(cypher: str) -> str:
    """Return the query unchanged if it only reads; raise :class:`ReadOnlyViolation` otherwise."""
    text = _STRINGS.sub("''", _COMMENTS.sub(" ", cypher)).strip()
    if not text:
        raise ReadOnlyViolation("empty query")
    if ";" in text.rstrip(";"):
        raise ReadOnlyViolation("one statement at a time: the query contains ';'")
    for word in _WORD.findall(text):
        if word.upper() in _WRITE_CLAUSES:
            raise ReadOnlyViolation(
                f"write clause {word.upper()} rejected: `kg query` is read-only "
                "(use `wardround kg load` to change the graph)"
            )
    for procedure in _CALL.findall(text):
        if procedure.lower() not in _READ_PROCEDURES:
            raise ReadOnlyViolation(
                f"CALL {procedure} rejected: only schema-reading procedures are allowed"
            )
    if re.search(r"\bCALL\s*\{", text, re.IGNORECASE):
        raise ReadOnlyViolation("CALL subqueries are rejected in read-only queries")
    return cypher
