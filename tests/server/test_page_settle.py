"""On the ward page (headless Chromium): a question on a paused thread is answered and lists what
still waits (once); after the decision, the next answer says what was decided and proposes
nothing again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.server.browser import Page, chromium, needs_chromium, running, save_screenshot
from tests.server.conftest import PAUSING, Server
from tests.server.test_browser import sign_in_and_ask, submit_decisions

pytestmark = pytest.mark.browser
ANSWERED = "[...document.querySelectorAll('#messages .a:not(.decided)')]"


async def ask_again(page: Page, question: str, answers: int) -> None:
    await page.js(f"document.getElementById('question').value = {json.dumps(question)}")
    await page.js("document.getElementById('ask').requestSubmit()")
    await page.wait_for(
        f"{ANSWERED}.length === {answers} && {ANSWERED}.every((a) => a.dataset.live === '0')"
    )


@needs_chromium
async def test_a_paused_thread_answers_and_a_decision_settles(
    server: Server, tmp_path: Path
) -> None:
    async with running(server.app) as base, chromium(tmp_path / "profile") as ws:
        page = await Page.open(ws, f"{base}/")
        token = server.tokens["clinician_7a"]
        await sign_in_and_ask(page, token, 1, PAUSING, "Can we give the co-amoxiclav?")
        await page.wait_for("document.querySelector('.proposal')")

        await ask_again(page, "What else is on the chart?", 2)  # the thread waits: still answered
        assert await page.js("document.getElementById('round-error').textContent") == ""
        shown = await page.js(
            "[...document.querySelectorAll('.proposal')].map(p => p.dataset.proposal)"
        )
        assert len(shown) == 1  # listed again, once
        await save_screenshot(page, tmp_path, "paused-thread-asked-again.png")

        await page.js(
            "document.querySelector('.proposal button[data-decision=\"reject\"]').click()"
        )
        await submit_decisions(page)
        await page.wait_for("document.querySelector('.decided')")
        await ask_again(page, "Anything else?", 3)
        assert await page.js("document.querySelectorAll('.proposal').length") == 0
        settled = await page.js(f"{ANSWERED}.at(-1).querySelector('.settled li')?.textContent")
        assert settled is not None
        assert "rejected by Dr Lin" in settled
        await save_screenshot(page, tmp_path, "decision-settled.png")
