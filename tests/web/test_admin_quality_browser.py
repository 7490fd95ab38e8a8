"""Admin → Quality in headless Chromium, with the job worker running on a simulator synced for real (seeded
watch histories, hashing embeddings): the empty state, then "Run now" — the page follows the run and reloads
with the figures, readable on a desktop (1280x800) and a phone (390x844) without sideways scrolling.
Set MARQUEE_SHOTS_DIR to keep the screenshots (PNG)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from providers.simulator import Simulator, serve_simulator, synthetic_catalog
from sidecar.embeddings import embed_items
from sidecar.jobs.progress import Progress
from sidecar.media_types import MediaType
from sidecar.settings import Settings
from sidecar.sync import state as sync_state
from sidecar.sync.items import sync_kind
from sidecar.sync.libraries import sync_libraries
from sidecar.sync.users import sync_users
from sidecar.sync.watch import sync_watch_history
from tests.embeddings.doubles import HashingEmbedder
from tests.web.conftest import Web, running_web
from tests.web.test_browser import CHROMIUM, CHROMIUM_ARGS
from tests.web.test_browser_pages import AXE, AXE_RUN

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}
WIDTH = "() => [document.documentElement.scrollWidth, window.innerWidth]"


@pytest.fixture
async def quality_web(settings: Settings, clean_db: AsyncEngine, clean_redis: str) -> AsyncIterator[Web]:
    simulator = Simulator(
        "jellyfin",
        catalog=synthetic_catalog(40, 2, seed=11),
        users=["alice", "bob", "carol"],
        seed_history=True,
        seed=5,
    )
    await sync_state.record(clean_db, sync_state.INITIAL_SYNC, {"by": "test"})  # no first full sync racing us
    async with serve_simulator(simulator) as url, running_web(settings, simulator, url, run_worker=True) as web:
        web.services.embedder = HashingEmbedder(64)  # the worker shares these services: no model to load
        # The sync's steps by hand, so no embedding job is queued for the worker beside ours.
        await sync_users(web.services)
        await sync_libraries(web.services)
        await sync_kind(web.services, ["Movie"])
        await sync_watch_history(web.services, full=True)
        await embed_items(web.services, web.services.embedder, MediaType.MOVIES, Progress.detached())
        yield web


async def _shots(page: Any, name: str, tmp: Path) -> list[tuple[int, int]]:
    """Full-page PNGs at both sizes; returns (document width, viewport width) per size."""
    folder = Path(os.environ.get("MARQUEE_SHOTS_DIR") or tmp)
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    widths = []
    for size, (width, height) in SIZES.items():
        await page.set_viewport_size({"width": width, "height": height})
        widths.append(tuple(await page.evaluate(WIDTH)))
        await page.screenshot(path=str(folder / f"admin-quality-{name}-{size}.png"), full_page=True)
    await page.set_viewport_size({"width": 1280, "height": 800})
    return widths


async def test_run_now_fills_the_page_with_the_figures(quality_web: Web, tmp_path: Path) -> None:
    from playwright.async_api import async_playwright, expect

    web = quality_web
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = await (await browser.new_context(viewport={"width": 1280, "height": 800})).new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await page.goto(f"{web.base}/login")
            await page.fill("#name", "admin")
            await page.fill("#password", web.password("admin"))
            await page.click("form[action='/login'] button[type=submit]")
            await page.wait_for_url(f"{web.base}/")

            await page.click("nav.admin-nav a[href='/admin/quality']")
            await expect(page.locator("h2")).to_have_text(["No evaluation yet"])
            assert all(doc <= view for doc, view in await _shots(page, "empty", tmp_path))

            await page.click("#current-run .run-form button")
            # The flash "queued" (tests/web/test_admin_quality.py) may be gone already: admin-quality.js reloads
            # the page once the run has ended, and on a small server it takes a second.
            overall_rows = page.locator("#quality-movies table.quality-overall tbody tr")
            await expect(overall_rows).to_have_count(3, timeout=30_000)
            overall = await overall_rows.all_inner_texts()
            assert [row.split()[0] for row in overall] == ["Marquee", "Popularity", "Content-only"]
            assert all(0.0 <= float(row.split()[-3]) <= 1.0 for row in overall), overall
            users = await page.locator("#quality-movies table.quality-users tbody tr").all_inner_texts()
            assert {row.split()[0] for row in users} == {"alice", "bob", "carol"}, users
            await expect(page.locator("#quality-movies .quality-facts")).to_contain_text("3 of 3 users")
            await expect(page.locator("#current-run .state")).to_contain_text("done")
            assert all(doc <= view for doc, view in await _shots(page, "result", tmp_path))
            assert errors == []
            if AXE.exists():  # the tables' two-row headers and the phone's cards stay accessible
                await page.evaluate(AXE.read_text())
                for width, height in SIZES.values():
                    await page.set_viewport_size({"width": width, "height": height})
                    found = await page.evaluate(AXE_RUN)
                    assert [v for v in found if v["impact"] in ("serious", "critical")] == [], (width, found)
        finally:
            await browser.close()
