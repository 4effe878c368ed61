"""The medical knowledge graph: named clinical queries over LadybugDB (embedded) or Neo4j.

Callers use :func:`open_store` and the :class:`GraphStore` methods; every fact they get back is a
pydantic model from :mod:`kg.models` carrying a citable ``id`` and its ``source``. Callers never
write Cypher; developers and auditors may run read-only Cypher through
:meth:`GraphStore.query_readonly` or ``wardround kg query``.
"""

from kg.store import GraphStore, open_store

__all__ = ["GraphStore", "open_store"]
