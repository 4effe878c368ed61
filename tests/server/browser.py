"""Headless Chromium for the page tests: Debian's ``chromium`` driven over the DevTools protocol.

No browser is downloaded: tests marked ``needs_chromium`` fail when ``/usr/bin/chromium`` (or
``$WARDROUND_CHROMIUM``) is not installed (``apt-get install chromium``; ``make`` installs it as
root), and are skipped only with ``WARDROUND_SKIP_BROWSER_TESTS=1``. ``running`` serves an app
on a real loopback port with uvicorn; ``Page`` evaluates JavaScript, waits for conditions, keeps
the protocol events it sees (``Network.requestWillBeSent`` once ``Network.enable`` is sent) and
takes screenshots, which ``save_screenshot`` writes to ``$WARDROUND_TEST_OUTPUT`` (default: the
test's tmp dir).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import shutil
import socket
from collections.abc import AsyncIterator
from itertools import count
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

CHROMIUM = os.environ.get("WARDROUND_CHROMIUM", "/usr/bin/chromium")


class Page:
    """Just enough of the DevTools protocol: evaluate, wait for a condition, screenshot."""

    def __init__(self, ws: Any, session: str) -> None:
        self.ws = ws
        self.session = session
        self.ids = count(1)
        self.events: list[dict[str, Any]] = []

    @classmethod
    async def open(cls, ws: Any, url: str, *, network: bool = False) -> Page:
        """A new tab at ``url``; ``network=True`` records its requests in ``events``."""
        browser = cls(ws, "")
        target = await browser.send("Target.createTarget", url="about:blank")
        attached = await browser.send(
            "Target.attachToTarget", targetId=target["targetId"], flatten=True
        )
        page = cls(ws, attached["sessionId"])
        page.ids = browser.ids
        await page.send("Page.enable")
        if network:
            await page.send("Network.enable")
        await page.send("Page.navigate", url=url)
        return page

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        call_id = next(self.ids)
        message: dict[str, Any] = {"id": call_id, "method": method, "params": params}
        if self.session:
            message["sessionId"] = self.session
        await self.ws.send(json.dumps(message))
        while True:
            reply = json.loads(await self.ws.recv())
            if "method" in reply and "id" not in reply:
                self.events.append(reply)
            if reply.get("id") == call_id:
                if "error" in reply:
                    raise AssertionError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result

    async def js(self, expression: str) -> Any:
        reply = await self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in reply:
            raise AssertionError(f"{expression}: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    async def wait_for(self, expression: str, timeout_s: float = 30.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while not await self.js(f"Boolean({expression})"):
            if asyncio.get_running_loop().time() > deadline:
                error = await self.js("document.getElementById('error')?.textContent")
                raise AssertionError(f"timed out waiting for {expression} (page error: {error})")
            await asyncio.sleep(0.1)

    def requests(self) -> list[tuple[str, str]]:
        """(method, url) of every request the page sent (after ``open(..., network=True)``)."""
        return [
            (e["params"]["request"]["method"], e["params"]["request"]["url"])
            for e in self.events
            if e.get("method") == "Network.requestWillBeSent"
        ]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[str]:
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    http = uvicorn.Server(config)
    task = asyncio.create_task(http.serve())
    for _ in range(200):
        if http.started:
            break
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        http.should_exit = True
        await task


def _devtools_address(profile: Path) -> tuple[str, str] | None:
    """Chromium writes its DevTools port and path here once it listens."""
    active = profile / "DevToolsActivePort"
    lines = active.read_text().splitlines() if active.is_file() else []
    return (lines[0], lines[1]) if len(lines) == 2 else None


def _save(png: bytes, out: Path, name: str) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    (out / name).write_bytes(png)
    return out / name


async def save_screenshot(page: Page, tmp_path: Path, name: str) -> Path:
    """A PNG of the page, written under ``$WARDROUND_TEST_OUTPUT`` (default ``tmp_path``)."""
    shot = await page.send("Page.captureScreenshot", format="png")
    png = base64.b64decode(shot["data"])
    assert png.startswith(b"\x89PNG")
    out = Path(os.environ.get("WARDROUND_TEST_OUTPUT", tmp_path))
    return await asyncio.to_thread(_save, png, out, name)


@contextlib.asynccontextmanager
async def chromium(profile: Path) -> AsyncIterator[Any]:
    websockets = pytest.importorskip("websockets")
    if not shutil.which(CHROMIUM):
        pytest.fail(
            f"{CHROMIUM} is not installed: apt-get install chromium fonts-noto-cjk "
            "(or WARDROUND_SKIP_BROWSER_TESTS=1 to skip the browser tests knowingly)",
            pytrace=False,
        )
    proc = await asyncio.create_subprocess_exec(
        CHROMIUM,
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-gpu",
        "--no-first-run",
        "--window-size=1280,900",
        "--remote-debugging-port=0",
        f"--user-data-dir={profile}",
        "about:blank",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            found = await asyncio.to_thread(_devtools_address, profile)
            if found:
                break
            await asyncio.sleep(0.05)
        port, path = found or ("", "")
        async with websockets.connect(f"ws://127.0.0.1:{port}{path}", max_size=None) as ws:
            yield ws
    finally:
        proc.terminate()
        await proc.wait()


# A missing browser fails the browser tests (``chromium`` says how to install it; ``make test``
# installs it as root); they are skipped only when asked to, knowingly.
needs_chromium = pytest.mark.skipif(
    os.environ.get("WARDROUND_SKIP_BROWSER_TESTS") == "1", reason="WARDROUND_SKIP_BROWSER_TESTS=1"
)
