"""The chat page end to end in headless Chromium (Debian's ``chromium``), driven over the DevTools
protocol: sign in, pick a patient, ask, watch specialists finish, click a citation, screenshot.
The harness (browser, page, server on a port) is ``tests/server/browser.py``.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import yaml

from core.settings import SHIPPED_DATA
from tests.server.browser import Page, chromium, needs_chromium, running, save_screenshot
from tests.server.conftest import OTHER, OWN, PAUSING, Server
from tests.server.test_approvals import SECOND, add_second_proposal

pytestmark = pytest.mark.browser

GUIDELINES = yaml.safe_load((SHIPPED_DATA / "kg" / "guidelines.yaml").read_text(encoding="utf-8"))

# every piece of text that lands in an answer box, in order (mutation records outlive the nodes)
WATCH_ANSWER = """
window.shownPieces = [];
new MutationObserver((records) => {
  for (const r of records) {
    if (!r.target.classList?.contains("a")) continue;
    for (const n of r.addedNodes) {
      if (n.nodeType === Node.TEXT_NODE) window.shownPieces.push(n.data);
    }
  }
}).observe(document.getElementById("messages"), { childList: true, subtree: true });
"""


async def submit_decisions(page: Page) -> None:
    """Nothing is sent until the clinician reviews their choices and confirms them."""
    await page.wait_for("!document.getElementById('submit-decisions').disabled")
    await page.js("document.getElementById('submit-decisions').click()")
    await page.wait_for("document.getElementById('confirm-decisions')")
    await page.js("document.getElementById('confirm-decisions').click()")


async def sign_in_and_ask(page: Page, token: str, patients: int, patient: str, q: str) -> None:
    # the form exists before the script below it has attached its handler: wait for the script
    await page.wait_for("document.documentElement?.dataset.page === 'ready'")
    await page.js(f"document.getElementById('token').value = {json.dumps(token)}")
    await page.js("document.getElementById('signin').requestSubmit()")
    await page.wait_for(f"document.querySelectorAll('.patient').length === {patients}")
    await page.js(f"document.querySelector('[data-patient=\"{patient}\"]').click()")
    await page.wait_for("!document.getElementById('ask').hidden")
    await page.js(f"document.getElementById('question').value = {json.dumps(q)}")
    await page.js("document.getElementById('ask').requestSubmit()")


@needs_chromium
async def test_chat_page_round(server: Server, tmp_path: Path) -> None:
    async with running(server.app) as base, chromium(tmp_path / "profile") as ws:
        page = await Page.open(ws, f"{base}/")
        await page.wait_for("document.getElementById('messages')")
        await page.js(WATCH_ANSWER)
        await sign_in_and_ask(page, server.tokens["clinician"], 2, OWN, "Why is it rising? Q-7")
        assert not await page.js(f"document.querySelector('[data-patient=\"{OTHER}\"]')")
        await page.wait_for(
            "document.querySelector('#messages .a')?.textContent.startsWith('Answer for Q-7.')"
        )
        # the answer was shown growing, piece by piece, before the answer of record replaced it
        await page.wait_for("document.querySelector('#messages .a').dataset.live === '0'")
        shown = await page.js("window.shownPieces")
        assert len(shown) >= 3
        assert "".join(shown[:-1]) == "Answer for Q-7."
        assert shown[-1] == "Answer for Q-7."  # the prose; the rules' cards are in the panel
        await page.wait_for(
            "document.querySelector('#progress span[data-node=\"synthesize\"].finished')"
        )
        assert await page.js("document.querySelectorAll('.finding').length") > 0
        # the cards by tier, Act now first; severity in words; For information collapsed
        tiers = await page.js(
            "[...document.querySelectorAll('#cards .tier')].map(t => t.dataset.tier)"
        )
        assert tiers[0] == "act_now"
        assert tiers == [t for t in ("act_now", "review", "for_information") if t in tiers]
        first = await page.js("document.querySelector('#cards .card .sev').textContent")
        assert first in {"Critical", "High"}
        collapsed = "document.querySelector('#cards details.tier')"
        assert await page.js(f"{collapsed} === null || {collapsed}.open === false")
        act_now = await page.js(
            "[...document.querySelectorAll('#cards .tier.act_now .card')].map(c => c.dataset.card)"
        )
        assert act_now[:2] == ["kidney-function", "potassium"]  # no KG here: the labs only
        # each card names its source: a link (new tab, no opener) where the data gives its
        # published page, the label alone otherwise
        sources = await page.js(
            "[...document.querySelectorAll('#cards .card')].map(c => {"
            " const s = c.querySelector('.source'); const a = s.querySelector('a');"
            " return {card: c.dataset.card, text: s.textContent, href: a?.href || '',"
            " target: a?.target || '', rel: a?.rel || ''}; })"
        )
        thread = await page.js(
            "api(`/v1/threads/${state.thread}`).then(r => r.json()).then(d => d.cards)"
        )
        assert [s["card"] for s in sources] == [c["id"] for c in thread]
        for shown, card in zip(sources, thread, strict=True):
            assert card["source"]["label"] in shown["text"]
            assert shown["href"] == card["source"]["url"]  # a link only where the data has one
            if shown["href"]:
                assert shown["target"] == "_blank"
                assert "noopener" in shown["rel"].split()
        # the AKI card links KDIGO's AKI guideline, at the URL the KG's guideline data gives it
        kdigo = next(g for g in GUIDELINES["guidelines"] if g["id"] == "kdigo-aki-2012")
        assert sources[0]["card"] == "kidney-function"
        assert sources[0]["href"] == kdigo["url"]
        assert any(not s["href"] for s in sources)  # Harrison's tables: the label alone
        chips = await page.js(
            "[...document.querySelectorAll('#progress span.finished')].map(s => s.dataset.node)"
        )
        assert {"load_record", "route", "history", "labs", "synthesize"} <= set(chips)

        # the Outlook (its own SSE event) under the cards: heading and one line per item
        await page.wait_for("document.querySelector('#outlook h3')")
        heading = await page.js("document.querySelector('#outlook h3').textContent")
        assert heading.startswith("Outlook (published models and labelled extrapolations")
        statements = await page.js(
            "[...document.querySelectorAll('#outlook li')].map(li => li.firstChild.data)"
        )
        assert statements  # the kidney trend of this round
        assert all(s.strip() for s in statements)

        await page.js("document.querySelector('.finding .cite').click()")
        assert await page.js("document.getElementById('citation').textContent")
        assert await page.js("document.querySelectorAll('.finding.hit').length") > 0
        assert await page.js("document.getElementById('error').textContent") == ""

        await save_screenshot(page, tmp_path, "chat-page.png")


@needs_chromium
async def test_chat_page_approves_a_proposal(server: Server, tmp_path: Path) -> None:
    async with running(server.app) as base, chromium(tmp_path / "profile") as ws:
        page = await Page.open(ws, f"{base}/")
        token = server.tokens["clinician_7a"]
        await sign_in_and_ask(page, token, 1, PAUSING, "Can we give the co-amoxiclav?")
        await page.wait_for("document.querySelector('.proposal button[data-decision=approve]')")
        because = await page.js("document.querySelector('.proposal .because li')?.textContent")
        assert because, "the proposal says why, in words"
        await page.js("document.querySelector('.proposal button[data-decision=approve]').click()")
        outbox = server.app.state.wardround.settings.data_dir / "outbox.jsonl"
        assert not outbox.exists()  # chosen, not yet confirmed: nothing sent
        await submit_decisions(page)
        await page.wait_for("document.querySelector('.decided')")
        assert not await page.js("document.querySelector('.proposal')")
        assert await page.js("document.getElementById('error').textContent") == ""
    [line] = (await asyncio.to_thread(outbox.read_text, encoding="utf-8")).splitlines()
    assert json.loads(line)["approver"] == "u-lin"


@needs_chromium
async def test_chat_page_decides_several_proposals_at_once(server: Server, tmp_path: Path) -> None:
    await add_second_proposal(server)
    async with running(server.app) as base, chromium(tmp_path / "profile") as ws:
        page = await Page.open(ws, f"{base}/")
        token = server.tokens["clinician_7a"]
        await sign_in_and_ask(page, token, 1, PAUSING, "Can we give the co-amoxiclav?")
        await page.wait_for("document.querySelectorAll('.proposal').length === 2")
        pick = "document.querySelectorAll('.proposal')[{}].querySelector('[data-decision={}]')"
        await page.js(pick.format(0, "reject") + ".click()")
        # one decided, one open: nothing is sent yet, the round still waits
        assert await page.js("document.querySelectorAll('.proposal').length") == 2
        assert not await page.js("document.querySelector('.decided')")
        await page.js(pick.format(1, "approve") + ".click()")
        await submit_decisions(page)
        await page.wait_for("document.querySelectorAll('.decided').length === 2")
        decided = await page.js(
            "[...document.querySelectorAll('.decided')].map(d => d.textContent.split(':')[0])"
        )
        assert decided == ["reject", "approve"]
        assert await page.js("document.getElementById('error').textContent") == ""
    outbox = server.app.state.wardround.settings.data_dir / "outbox.jsonl"
    [line] = (await asyncio.to_thread(outbox.read_text, encoding="utf-8")).splitlines()
    assert json.loads(line)["proposal"]["id"] == f"activate:{SECOND}"
