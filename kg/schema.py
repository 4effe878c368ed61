"""The graph schema, declared once: every backend builds its tables/constraints from this.

LadybugDB needs declared node and relationship tables (one label per node); Neo4j gets uniqueness
constraints on ``id`` and indexes. Property types are the LadybugDB names; Neo4j ignores them.
"""

from __future__ import annotations

from dataclasses import dataclass

LOADER_VERSION = "3"
"""Bump when the loader or schema changes meaning: it is part of the content version."""


@dataclass(frozen=True)
class NodeTable:
    label: str
    props: tuple[tuple[str, str], ...]
    """(name, type); the first is ``id``, the primary key."""


@dataclass(frozen=True)
class RelTable:
    type: str
    pairs: tuple[tuple[str, str], ...]
    props: tuple[tuple[str, str], ...]


_FACT = (("id", "STRING"), ("source", "STRING"))
_BOUNDS: tuple[tuple[str, str], ...] = (
    ("analyte", "STRING"),
    ("lt", "DOUBLE"),
    ("le", "DOUBLE"),
    ("gt", "DOUBLE"),
    ("ge", "DOUBLE"),
    ("unit", "STRING"),
)
_CONTRA = (
    *_FACT,
    ("level", "STRING"),
    ("kind", "STRING"),
    ("reason", "STRING"),
    ("management", "STRING"),
    ("code", "STRING"),
    *_BOUNDS,
)

NODES: tuple[NodeTable, ...] = (
    NodeTable(
        "Drug",
        (
            ("id", "STRING"),
            ("rxcui", "STRING"),
            ("name", "STRING"),
            ("atc", "STRING[]"),
            ("classes", "STRING[]"),
            ("terms", "STRING[]"),
            ("brands", "STRING[]"),
            ("acb", "INT64"),
            ("source", "STRING"),
        ),
    ),
    NodeTable(
        "DrugClass",
        (
            ("id", "STRING"),
            ("name", "STRING"),
            ("kind", "STRING"),
            ("terms", "STRING[]"),
            ("source", "STRING"),
        ),
    ),
    NodeTable(
        "Condition",
        (
            ("id", "STRING"),
            ("code", "STRING"),
            ("system", "STRING"),
            ("name", "STRING"),
            ("annotated", "INT64"),
            ("source", "STRING"),
        ),
    ),
    NodeTable("Phenotype", (("id", "STRING"), ("name", "STRING"), ("source", "STRING"))),
    NodeTable(
        "LabTest",
        (
            ("id", "STRING"),
            ("name", "STRING"),
            ("analyte", "STRING"),
            ("unit", "STRING"),
            ("si_unit", "STRING"),
            ("conventional_unit", "STRING"),
            ("si_factor", "DOUBLE"),
            ("to_analyte", "DOUBLE"),
            ("low", "DOUBLE"),
            ("high", "DOUBLE"),
            ("source", "STRING"),
        ),
    ),
    NodeTable(
        "Guideline",
        (
            ("id", "STRING"),
            ("org", "STRING"),
            ("title", "STRING"),
            ("year", "INT64"),
            ("version", "STRING"),
            ("url", "STRING"),
            ("source", "STRING"),
        ),
    ),
    NodeTable(
        "Recommendation",
        (
            ("id", "STRING"),
            ("text", "STRING"),
            ("strength", "STRING"),
            ("evidence", "STRING"),
            ("guideline", "STRING"),
            ("needs_condition", "BOOLEAN"),
            ("needs_lab", "BOOLEAN"),
            ("source", "STRING"),
        ),
    ),
    NodeTable("Meta", (("id", "STRING"), ("value", "STRING"))),
)

RELS: tuple[RelTable, ...] = (
    RelTable("MEMBER_OF", (("Drug", "DrugClass"),), (("source", "STRING"),)),
    RelTable(
        "INTERACTS_WITH",
        (("Drug", "Drug"),),
        (
            *_FACT,
            ("severity", "STRING"),
            ("mechanism", "STRING"),
            ("effect", "STRING"),
            ("management", "STRING"),
            ("requires_any", "STRING[]"),
            ("manifest_analyte", "STRING"),
            ("manifest_lt", "DOUBLE"),
            ("manifest_le", "DOUBLE"),
            ("manifest_gt", "DOUBLE"),
            ("manifest_ge", "DOUBLE"),
            ("manifest_unit", "STRING"),
            ("manifest_meaning", "STRING"),
            ("manifest_source", "STRING"),
        ),
    ),
    RelTable("CONTRAINDICATED_IN", (("Drug", "Condition"), ("Drug", "LabTest")), _CONTRA),
    RelTable("CAUTION_IN", (("Drug", "Condition"), ("Drug", "LabTest")), _CONTRA),
    RelTable(
        "CROSS_REACTS_WITH",
        (("DrugClass", "DrugClass"),),
        (*_FACT, ("level", "STRING"), ("risk", "STRING"), ("management", "STRING")),
    ),
    RelTable(
        "REQUIRES_MONITORING",
        (("Drug", "LabTest"),),
        (
            *_FACT,
            ("test", "STRING"),
            ("frequency", "STRING"),
            ("rationale", "STRING"),
            ("when_conditions", "STRING"),
        ),
    ),
    RelTable("TREATS", (("Drug", "Condition"),), (("source", "STRING"),)),
    RelTable("RECOMMENDS", (("Guideline", "Recommendation"),), (("source", "STRING"),)),
    RelTable(
        "APPLIES_TO",
        (("Recommendation", "Condition"), ("Recommendation", "LabTest")),
        (("code", "STRING"), *_BOUNDS),
    ),
    RelTable(
        "HAS_PHENOTYPE",
        (("Condition", "Phenotype"),),
        (("frequency", "STRING"), ("evidence", "STRING"), ("source", "STRING")),
    ),
    RelTable("IS_A", (("Condition", "Condition"), ("Phenotype", "Phenotype")), ()),
)

NODE_BY_LABEL = {n.label: n for n in NODES}
REL_BY_TYPE = {r.type: r for r in RELS}
FACT_RELS = (
    "INTERACTS_WITH",
    "CONTRAINDICATED_IN",
    "CAUTION_IN",
    "CROSS_REACTS_WITH",
    "REQUIRES_MONITORING",
)
