"""The chat page as a ward tool, in headless Chromium: a phone and a workstation, the ward's threads
surviving a reload (paused ones marked), patients told apart, errors where the user looks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.server.browser import Page, chromium, needs_chromium, running, save_screenshot
from tests.server.conftest import OWN, PAUSING, Server
from tests.server.test_browser import sign_in_and_ask

pytestmark = pytest.mark.browser

SCREENS = {"phone": (390, 844, True), "workstation": (1440, 900, False)}


async def screen(page: Page, name: str) -> None:
    width, height, mobile = SCREENS[name]
    await page.send(
        "Emulation.setDeviceMetricsOverride",
        width=width, height=height, deviceScaleFactor=1, mobile=mobile,
    )  # fmt: skip


def top(selector: str) -> str:
    return f"document.querySelector({json.dumps(selector)}).getBoundingClientRect().top"


@needs_chromium
@pytest.mark.parametrize("name", list(SCREENS))
async def test_the_page_fits_a_phone_and_a_workstation(
    server: Server, tmp_path: Path, name: str
) -> None:
    async with running(server.app) as base, chromium(tmp_path / "profile") as ws:
        page = await Page.open(ws, "about:blank")
        await screen(page, name)
        await page.send("Page.navigate", url=f"{base}/")
        await sign_in_and_ask(page, server.tokens["clinician"], 2, OWN, "Why is it rising? Q-8")
        await page.wait_for("document.querySelector('#messages .a')?.dataset.live === '0'")
        overflow = await page.js(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"the page scrolls sideways by {overflow}px on a {name}"
        chat, findings = await page.js(f"[{top('#chat')}, {top('#findings-panel')}]")
        if name == "phone":  # one column: the round first, its findings under it
            assert chat < findings
        else:  # three columns side by side
            assert chat == findings
        await save_screenshot(page, tmp_path, f"ward-page-{name}.png")


@needs_chromium
async def test_a_reload_keeps_the_thread_and_its_pending_approval(
    server: Server, tmp_path: Path
) -> None:
    async with running(server.app) as base, chromium(tmp_path / "profile") as ws:
        page = await Page.open(ws, f"{base}/")
        token = server.tokens["clinician_7a"]
        await sign_in_and_ask(page, token, 1, PAUSING, "Can we give the co-amoxiclav?")
        await page.wait_for("document.querySelector('.proposal')")
        thread = await page.js("sessionStorage.getItem('wardround.thread')")

        await page.js("location.reload()")
        await page.wait_for("document.documentElement?.dataset.page === 'ready'")
        await page.wait_for("document.querySelector('.proposal')")  # pending, shown again
        # the latest round's cards, by tier as before the reload
        await page.wait_for("document.querySelector('#cards .tier')")
        assert await page.js("document.querySelector('#cards .tier').dataset.tier") == "act_now"
        assert await page.js("sessionStorage.getItem('wardround.thread')") == thread
        asked = await page.js("document.querySelector('#messages .q').textContent")
        assert asked == "Can we give the co-amoxiclav?"
        marked = await page.js(
            f"document.querySelector('.thread[data-thread=\"{thread}\"] .badge')?.textContent"
        )
        assert marked == "waits for approval"
        assert await page.js("document.querySelector('.proposal .because li')?.textContent")

        await page.js("document.getElementById('new-thread').click()")
        await page.wait_for("document.querySelectorAll('.thread').length === 2")
        assert await page.js("sessionStorage.getItem('wardround.thread')") != thread
        await save_screenshot(page, tmp_path, "ward-page-threads.png")


@needs_chromium
async def test_patients_are_told_apart_and_errors_show_by_the_question(
    server: Server, tmp_path: Path
) -> None:
    async with running(server.app) as base, chromium(tmp_path / "profile") as ws:
        page = await Page.open(ws, f"{base}/")
        token = server.tokens["clinician_7a"]
        await sign_in_and_ask(page, token, 1, PAUSING, "Can we give the co-amoxiclav?")
        line = await page.js(f"document.querySelector('[data-patient=\"{PAUSING}\"]').textContent")
        assert " F" in line or " M" in line  # sex beside the age
        assert any(ch.isdigit() for ch in line)  # the age and the record's identifier
        await page.wait_for("document.querySelector('.proposal')")
        # a question the server refuses (over 4,000 characters): said by the question box
        await page.js("document.getElementById('question').value = 'x'.repeat(4001)")
        await page.js("document.getElementById('ask').requestSubmit()")
        await page.wait_for("document.getElementById('round-error').textContent !== ''")
        assert await page.js("document.getElementById('error').textContent") == ""
        assert (
            await page.js("document.querySelector('#messages .a:last-child')?.textContent") != "…"
        )


@needs_chromium
async def test_a_chinese_question_shows_the_cards_framed_in_chinese(
    server: Server, tmp_path: Path
) -> None:
    async with running(server.app) as base, chromium(tmp_path / "profile") as ws:
        page = await Page.open(ws, f"{base}/")
        await sign_in_and_ask(page, server.tokens["clinician"], 2, OWN, "為什麼肌酸酐上升？")
        await page.wait_for("document.querySelector('#messages .a')?.dataset.live === '0'")
        await page.wait_for("document.querySelector('#cards .tier')")
        headings = await page.js(
            "[...document.querySelectorAll('#cards .tier > h3, #cards .tier > summary')]"
            ".map(h => h.textContent)"
        )
        assert headings[0].startswith("立即處理")
        assert all(h.startswith(("立即處理", "需要檢視", "參考資訊")) for h in headings)
        severities = await page.js(
            "[...document.querySelectorAll('#cards .card .sev')].map(s => s.textContent)"
        )
        assert severities
        assert set(severities) <= {"危急", "高", "中", "低", "資訊"}
        link = await page.js(
            "(() => { const a = document.querySelector('#cards .card .source a');"
            " return [a.parentElement.firstChild.textContent, a.target, a.rel]; })()"
        )
        assert link[0] == "來源："
        assert link[1] == "_blank"
        assert "noopener" in link[2].split()
        summary = await page.js("document.querySelector('#cards .card .summary').textContent")
        assert "腎" in summary  # the kidney card's own words in Chinese
        await save_screenshot(page, tmp_path, "ward-page-zh.png")
