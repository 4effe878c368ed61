"""``wardround model serve`` stops llama.cpp on SIGTERM as on Ctrl-C: the port is free after
(SIGTERM used to end the command at once and leave the llama.cpp child holding the port)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.model.serving import free_port

pytestmark = pytest.mark.slow


def listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_sigterm_stops_the_model_server(tmp_path: Path) -> None:
    port = free_port()
    command = subprocess.Popen(
        [sys.executable, "-c", "from server.cli import main; main()",
         "model", "serve", "--port", str(port)],
        env={**os.environ, "WARDROUND_DATA_DIR": str(tmp_path), "COLUMNS": "200"},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert command.stdout is not None
        seen = []
        for line in command.stdout:  # until the model answers (or the command ends)
            seen.append(line)
            if "model server ready" in line:
                break
        assert "model server ready" in seen[-1], "".join(seen)
        assert listening(port)
        command.send_signal(signal.SIGTERM)
        output, _ = command.communicate(timeout=60)
    finally:
        if command.poll() is None:
            command.kill()
    assert command.returncode == 0, output
    assert "model server stopped" in output
    deadline = time.monotonic() + 5
    while listening(port) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not listening(port), "llama.cpp still holds the port"
