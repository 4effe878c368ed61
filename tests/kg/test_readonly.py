"""The read-only guard in front of ad-hoc Cypher, and the CLI that uses it."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.errors import ReadOnlyViolation
from kg.cli import app
from kg.readonly import check_readonly

READS = [
    "MATCH (d:Drug) RETURN d.name LIMIT 5",
    "MATCH (d:Drug {name: 'create'}) RETURN d",  # write words inside literals are data
    'MATCH (d:Drug) WHERE d.name = "DELETE me" RETURN d',
    "MATCH (d:Drug) // SET is only mentioned in a comment\nRETURN d.set AS set_property",
    "MATCH (n) RETURN labels(n), count(*)",
    "CALL db.labels()",
    "CALL show_tables() RETURN *",
    "MATCH (a)-[r:INTERACTS_WITH]->(b) WHERE a.id IN $ids RETURN r;",
]
WRITES = [
    "CREATE (:Drug {id: 'x'})",
    "MATCH (d:Drug) SET d.name = 'x'",
    "merge (d:Drug {id: 'x'})",
    "MATCH (d) DETACH DELETE d",
    "MATCH (d) DELETE d",
    "MATCH (d:Drug) REMOVE d.name",
    "DROP TABLE Drug",
    "LOAD CSV FROM 'file:///x' AS row RETURN row",
    "COPY Drug FROM 'x.csv'",
    "CALL apoc.create.node(['X'], {})",
    "CALL db.createLabel('X')",
    "MATCH (n) CALL { WITH n RETURN n } RETURN n",
    "MATCH (n) RETURN n; MATCH (m) RETURN m",
    "UNWIND [1] AS x FOREACH (i IN [1] | CREATE (:X))",
    "",
]


@pytest.mark.parametrize("cypher", READS)
def test_reads_pass(cypher: str) -> None:
    assert check_readonly(cypher) == cypher


@pytest.mark.parametrize("cypher", WRITES)
def test_writes_are_rejected(cypher: str) -> None:
    with pytest.raises(ReadOnlyViolation):
        check_readonly(cypher)


def test_cli_load_stats_query(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WARDROUND_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("WARDROUND_KG_BACKEND", "ladybug")
    runner = CliRunner()
    loaded = runner.invoke(app, ["load", "--scope", "none", "--no-progress"])
    assert loaded.exit_code == 0, loaded.output
    assert "loaded version 3-none-" in loaded.output
    again = runner.invoke(app, ["load", "--scope", "none", "--no-progress"])
    assert "already loaded" in again.output
    stats = runner.invoke(app, ["stats"])
    assert stats.exit_code == 0
    assert "INTERACTS_WITH" in stats.output
    query = runner.invoke(
        app,
        ["query", "MATCH (d:Drug) WHERE d.name = $n RETURN d.rxcui AS rxcui", "-p", 'n="warfarin"'],
    )
    assert query.exit_code == 0
    assert '"11289"' in query.output
    rejected = runner.invoke(app, ["query", "MATCH (d:Drug) DETACH DELETE d"])
    assert rejected.exit_code == 2
    assert "read-only" in rejected.output


def test_cli_without_a_graph_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WARDROUND_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("WARDROUND_KG_BACKEND", "ladybug")
    result = CliRunner().invoke(app, ["stats"])
    assert result.exit_code == 1
    assert "wardround kg load" in result.output
