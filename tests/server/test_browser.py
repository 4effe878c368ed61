"""The chat page end to end in headless Chromium (Debian's ``chromium``), driven over the DevTools
protocol: sign in, pick a patient, ask, watch specialists finish, click a citation, screenshot.

No browser is downloaded: the test skips when ``/usr/bin/chromium`` is not installed
(``apt-get install chromium``). The screenshot goes to ``$WARDROUND_TEST_OUTPUT`` (default: the
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

from tests.server.conftest import OTHER, OWN, PAUSING, Server

pytestmark = pytest.mark.browser
CHROMIUM = os.environ.get("WARDROUND_CHROMIUM", "/usr/bin/chromium")


class Page:
    """Just enough of the DevTools protocol: evaluate, wait for a condition, screenshot."""

    def __init__(self, ws: Any, session: str) -> None:
        self.ws = ws
        self.session = session
        self.ids = count(1)

    @classmethod
    async def open(cls, ws: Any, url: str) -> Page:
        browser = cls(ws, "")
        target = await browser.send("Target.createTarget", url="about:blank")
        attached = await browser.send(
            "Target.attachToTarget", targetId=target["targetId"], flatten=True
        )
        page = cls(ws, attached["sessionId"])
        page.ids = browser.ids
        await page.send("Page.enable")
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def running(server: Server) -> AsyncIterator[str]:
    port = _free_port()
    config = uvicorn.Config(
        server.app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"
    )
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


def _save(png: bytes, tmp_path: Path) -> Path:
    out = Path(os.environ.get("WARDROUND_TEST_OUTPUT", tmp_path))
    out.mkdir(parents=True, exist_ok=True)
    (out / "chat-page.png").write_bytes(png)
    return out / "chat-page.png"


@contextlib.asynccontextmanager
async def chromium(profile: Path) -> AsyncIterator[Any]:
    websockets = pytest.importorskip("websockets")
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


async def sign_in_and_ask(page: Page, token: str, patients: int, patient: str, q: str) -> None:
    await page.wait_for("document.getElementById('signin')")
    await page.js(f"document.getElementById('token').value = {json.dumps(token)}")
    await page.js("document.getElementById('signin').requestSubmit()")
    await page.wait_for(f"document.querySelectorAll('.patient').length === {patients}")
    await page.js(f"document.querySelector('[data-patient=\"{patient}\"]').click()")
    await page.wait_for("!document.getElementById('ask').hidden")
    await page.js(f"document.getElementById('question').value = {json.dumps(q)}")
    await page.js("document.getElementById('ask').requestSubmit()")


needs_chromium = pytest.mark.skipif(
    not shutil.which(CHROMIUM), reason="Debian chromium is not installed"
)


@needs_chromium
async def test_chat_page_round(server: Server, tmp_path: Path) -> None:
    async with running(server) as base, chromium(tmp_path / "profile") as ws:
        page = await Page.open(ws, f"{base}/")
        await sign_in_and_ask(page, server.tokens["clinician"], 2, OWN, "Why is it rising? Q-7")
        assert not await page.js(f"document.querySelector('[data-patient=\"{OTHER}\"]')")
        await page.wait_for(
            "document.querySelector('#messages .a')?.textContent.startsWith('Answer for Q-7.')"
        )
        await page.wait_for(
            "document.querySelector('#progress span[data-node=\"synthesize\"].finished')"
        )
        assert await page.js("document.querySelectorAll('.finding').length") > 0
        chips = await page.js(
            "[...document.querySelectorAll('#progress span.finished')].map(s => s.dataset.node)"
        )
        assert {"load_record", "route", "history", "labs", "synthesize"} <= set(chips)

        await page.js("document.querySelector('.finding .cite').click()")
        assert await page.js("document.getElementById('citation').textContent")
        assert await page.js("document.querySelectorAll('.finding.hit').length") > 0
        assert await page.js("document.getElementById('error').textContent") == ""

        shot = await page.send("Page.captureScreenshot", format="png")
        png = base64.b64decode(shot["data"])
        assert png.startswith(b"\x89PNG")
        await asyncio.to_thread(_save, png, tmp_path)


@needs_chromium
async def test_chat_page_approves_a_proposal(server: Server, tmp_path: Path) -> None:
    async with running(server) as base, chromium(tmp_path / "profile") as ws:
        page = await Page.open(ws, f"{base}/")
        token = server.tokens["clinician_7a"]
        await sign_in_and_ask(page, token, 1, PAUSING, "Can we give the co-amoxiclav?")
        await page.wait_for("document.querySelector('.proposal button[data-decision=approve]')")
        await page.js("document.querySelector('.proposal button[data-decision=approve]').click()")
        await page.wait_for("document.querySelector('.decided')")
        assert not await page.js("document.querySelector('.proposal')")
        assert await page.js("document.getElementById('error').textContent") == ""
    outbox = server.app.state.wardround.settings.data_dir / "outbox.jsonl"
    [line] = (await asyncio.to_thread(outbox.read_text, encoding="utf-8")).splitlines()
    assert json.loads(line)["approver"] == "u-lin"
