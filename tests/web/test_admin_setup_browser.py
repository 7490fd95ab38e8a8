"""In headless Chromium, against the simulator over HTTP: set up the media server from an empty install, choose
an embedding model on a fake OpenAI-compatible endpoint (real HTTP) and see its cost, purge movies and recover."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sidecar import embedding_switch, server_setup
from sidecar.jobs.embed_jobs import generate_embeddings, generate_series_embeddings
from sidecar.jobs.progress import Progress
from sidecar.jobs.recommend_jobs import generate_recommendations
from sidecar.jobs.sync_jobs import initial_sync_job
from sidecar.services import Services
from sidecar.settings import Settings
from tests.ai.fake_openai import GOOD_KEY, FakeState
from tests.web.conftest import Web
from tests.web.test_admin_setup import Empty, empty_install
from tests.web.test_admin_setup import fake_ai as fake_ai
from tests.web.test_admin_setup import web_with_history as web_with_history

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]


@asynccontextmanager
async def chromium() -> AsyncIterator[object]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1366, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            yield page
            assert errors == []
        finally:
            await browser.close()


async def _log_in(page: object, base: str, password: str) -> None:
    from playwright.async_api import Page

    assert isinstance(page, Page)
    await page.fill("#name", "admin")
    await page.fill("#password", password)
    await page.click("form[action='/login'] button[type=submit]")


async def test_set_up_the_server_from_an_empty_install(
    settings: Settings, clean_db: AsyncEngine, clean_redis: str
) -> None:
    from playwright.async_api import Page, expect

    async with empty_install(settings) as env, chromium() as page:
        assert isinstance(env, Empty) and isinstance(page, Page)
        await page.goto(f"{env.base}/")
        await page.get_by_role("link", name="Set up the media server").click()
        await expect(page).to_have_url(f"{env.base}/setup")
        await page.fill("#code", "0000-0000-0000")
        await page.click("text=Continue")
        await expect(page.get_by_role("alert")).to_contain_text("not the setup code")
        await page.fill("#code", server_setup.setup_code(env.settings).lower())  # as typed from the log
        await page.click("text=Continue")
        await expect(page).to_have_url(f"{env.base}/admin/server")

        await page.select_option("#server-type", "jellyfin")
        await page.fill("#server-url", env.sim_url)
        await page.fill("#server-key", "not-the-key")
        await page.click("text=Test connection")
        answer = page.locator("#server-answer")
        await expect(answer).to_contain_text("refused the API key")
        await page.fill("#server-key", env.sim.admin_api_key)
        await page.click("text=Test connection")
        await expect(answer).to_contain_text(f"Connected to Jellyfin server “{env.sim.server_name}”, version")
        assert await page.input_value("#server-key") == env.sim.admin_api_key  # still typed for Save
        assert env.services.media_server is None

        await page.click("#connection button:text-is('Save')")
        await expect(page).to_have_url(re.compile(r"/login\?next="))
        await _log_in(page, env.base, env.sim.user("admin").password)
        await expect(page).to_have_url(f"{env.base}/admin/server?saved=1")
        await expect(page.locator("#connection")).to_contain_text("Saved on this page")
        await expect(page.locator("#connection")).to_contain_text(env.sim.server_name)
        assert env.sim.admin_api_key not in await page.content()
        libraries = page.locator("#libraries table tr")
        names = await _library_names(env.services)
        assert names
        await expect(libraries).to_have_count(len(names) + 1)
        await page.click("text=Re-fetch libraries")
        await expect(page.get_by_role("status")).to_contain_text(f"The server lists {len(names)} libraries")


async def _library_names(services: Services) -> list[str]:
    async with services.engine.connect() as conn:
        rows = await conn.execute(text("SELECT name FROM library WHERE NOT is_marquee_output AND gone_at IS NULL"))
        return [r.name for r in rows]


async def test_choose_an_openai_compatible_model_and_see_the_cost(
    web_with_history: Web,
    fake_ai: tuple[str, FakeState],
) -> None:
    from playwright.async_api import Page, expect

    web = web_with_history
    endpoint, state = fake_ai
    await initial_sync_job(web.services, Progress.detached())
    async with chromium() as page:
        assert isinstance(page, Page)
        await page.goto(f"{web.base}/login?next=%2Fadmin%2Fmodels")
        await _log_in(page, web.base, web.password("admin"))
        await expect(page).to_have_url(f"{web.base}/admin/models")

        await page.fill("#price-lines", "fake-embed = 0.02")
        await page.click("text=Save prices")
        await expect(page.get_by_role("status")).to_contain_text("Prices saved")

        await page.check("input[name=embedding_provider][value=openai]")
        await page.fill("#embedding-model", "fake-embed")
        await page.fill("#base-url", endpoint)
        await page.fill("#ai-key", GOOD_KEY)
        answer = page.locator("#models-answer")
        await page.click("button:text-is('Test')")
        await expect(answer).to_contain_text("fake-embed answered: 8-dimensional vectors")
        await page.click("button:text-is('Estimate cost')")
        await expect(answer).to_contain_text(
            re.compile(r"re-embedding \d+ titles ≈ \S+( k)? tokens ≈ .+ with fake-embed")
        )
        await expect(answer).to_contain_text("Saving this embedding model starts re-embedding now")
        assert web.services.settings.embedding_provider == "local"

        await page.click("button:text-is('Save')")
        await expect(page.get_by_role("status").first).to_contain_text("Re-embedding every title with fake-embed")
        assert GOOD_KEY not in await page.content()
        assert web.services.settings.embedding_provider == "local"  # until every title has its new vector
        switched = await embedding_switch.switch_embedding_model(web.services, Progress.detached())
        assert switched["switched"] and state.batches
        assert web.services.settings.embedding_provider == "openai"
        await page.goto(f"{web.base}/admin/models")
        await expect(page.locator("#embedding")).to_contain_text("In use: fake-embed")


async def test_purge_movies_and_recover(
    web_with_history: Web,
    fake_ai: tuple[str, FakeState],
) -> None:
    from playwright.async_api import Page, expect

    web = web_with_history
    endpoint, _ = fake_ai
    services = web.services
    client, token = await web.api_login("admin")
    await client.patch(
        "/api/settings/embedding-model",
        json={"provider": "openai", "model": "fake-embed", "base_url": endpoint, "api_key": GOOD_KEY},
        headers={"X-CSRF-Token": token},
    )
    assert (await embedding_switch.switch_embedding_model(services, Progress.detached()))["switched"]

    async def sync_cycle() -> None:
        await initial_sync_job(services, Progress.detached())
        await generate_embeddings(services, Progress.detached(), then_recommend=False)
        await generate_series_embeddings(services, Progress.detached(), then_recommend=False)
        await generate_recommendations(services, Progress.detached())

    await sync_cycle()
    before = (await client.get("/api/admin/purge/stats")).json()
    assert before["movies"] and before["picks"]
    async with chromium() as page:
        assert isinstance(page, Page)
        await page.goto(f"{web.base}/login?next=%2Fadmin%2Fdatabase")
        await _log_in(page, web.base, web.password("admin"))
        movies = page.locator("[data-count=movies]")
        await expect(movies).to_have_text(f"{before['movies']:,}")
        await page.fill("#confirm-movies", "movie")
        await page.click("button:text-is('Purge movies')")
        await expect(page.get_by_role("alert")).to_contain_text("Type MOVIES in the box")
        await expect(movies).to_have_text(f"{before['movies']:,}")
        await page.fill("#confirm-movies", "MOVIES")
        await page.click("button:text-is('Purge movies')")
        await expect(page.get_by_role("status")).to_contain_text("Purged movies")
        await expect(page.get_by_role("status")).to_contain_text("The sync that brings them back has started")
        await expect(movies).to_have_text("0")
        await expect(page.locator("[data-count=picks]")).to_have_text("0")

        await sync_cycle()  # what the queued initial-sync and the jobs it queues do
        await page.goto(f"{web.base}/admin/database")
        await expect(movies).to_have_text(f"{before['movies']:,}")
        await expect(page.locator("[data-count=series]")).to_have_text(f"{before['series']:,}")
        await expect(page.locator("[data-count=watch_states]")).to_have_text(f"{before['watch_states']:,}")
        assert (await client.get("/api/admin/purge/stats")).json()["picks"] > 0
