"""In headless Chromium: log in, see the picks, run a job from the admin page and watch its progress."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from providers.simulator import Simulator
from sidecar.jobs import all_jobs
from sidecar.jobs.progress import Progress
from sidecar.jobs.registry import JobSpec
from sidecar.services import Services
from sidecar.settings import Settings
from sidecar.sync import state as sync_state
from tests.web.conftest import Web, running_web

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STEPS = 6

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
    # sidecar/jobs/progress.py still calls sqlmodel's deprecated session.execute (reported to the lead).
    pytest.mark.filterwarnings("ignore:\\s*.*You probably want to use `session.exec\\(\\)`:DeprecationWarning"),
]


async def _slow_job(services: Services, progress: Progress, **_: Any) -> dict[str, Any]:
    for step in range(1, STEPS + 1):
        await asyncio.sleep(0.5)
        await progress.update(step, STEPS, f"step {step}")
        await progress.flush()
    return {"steps": STEPS}


@pytest.fixture
def slow_job(monkeypatch: pytest.MonkeyPatch) -> str:
    """A job that takes ~3 s with visible progress, one of Marquee's jobs for this test only."""
    name = "test-slow-progress"
    monkeypatch.setattr(
        all_jobs, "JOBS", (*all_jobs.JOBS, JobSpec(name, _slow_job, "Counts to six, slowly (test job)."))
    )
    return name


@pytest.fixture
async def web_with_worker(
    settings: Settings, sim: tuple[Simulator, str], clean_db: AsyncEngine, clean_redis: str, slow_job: str
) -> AsyncIterator[Web]:
    simulator, url = sim
    # The worker would otherwise start a first full sync of the simulator's catalogue, whose follow-ups
    # recommend for every user and race the picks this test puts in place.
    await sync_state.record(clean_db, sync_state.INITIAL_SYNC, {"by": "test"})
    async with running_web(settings, simulator, url, run_worker=True) as env:
        yield env


async def _wait_for_job_definition(web: Web, name: str) -> None:
    from sidecar.db.models import JobDefinition

    for _ in range(100):  # the worker seeds job_definition rows as it starts
        async with web.services.sessions() as session:
            if await session.get(JobDefinition, name) is not None:
                return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{name} never appeared in job_definition")


async def test_login_picks_and_job_progress_in_chromium(web_with_worker: Web, slow_job: str) -> None:
    from playwright.async_api import async_playwright, expect

    web = web_with_worker
    admin = await web.user_row("admin")
    films = [
        await web.add_item("Stagecoach", year=1939, genres=["Western"]),
        await web.add_item("Rio Bravo", year=1959, genres=["Western"]),
    ]
    await web.add_picks(admin, films)
    await _wait_for_job_definition(web, slow_job)

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))

            await page.goto(f"{web.base}/picks")
            await expect(page).to_have_url(re.compile(r"/login\?next=%2Fpicks$"))
            await page.fill("#name", "admin")
            await page.fill("#password", "wrong")
            await page.click("button[type=submit]")
            await expect(page.get_by_role("alert")).to_contain_text("Wrong user name or password")
            await page.fill("#password", web.password("admin"))
            await page.click("button[type=submit]")

            await expect(page).to_have_url(f"{web.base}/picks")
            cards = page.locator(".grid .card")
            await expect(cards).to_have_count(2)
            await expect(cards.first).to_contain_text("Stagecoach")
            await expect(cards.first).to_contain_text("94% match")
            await expect(page.locator("header")).to_contain_text("admin")

            await page.click("header >> text=Jobs")
            await expect(page).to_have_url(f"{web.base}/admin/jobs")
            row = page.locator(f"#job-{slow_job}")
            await expect(row.locator(".state")).to_contain_text("never")
            await row.get_by_role("button", name="Run now").click()
            await expect(page).to_have_url(re.compile(rf"/admin/jobs\?started={slow_job}"))

            row = page.locator(f"#job-{slow_job}")
            # Mid-run progress shows up without reloading the page, then the run finishes.
            await expect(row.locator(".message")).to_have_text(
                re.compile(rf"^step [1-{STEPS - 1}] \([1-{STEPS - 1}] of {STEPS}\)$"), timeout=8000
            )
            await expect(row.locator(".state")).to_contain_text("running")
            await expect(row.locator(".state")).to_contain_text("done", timeout=10000)
            await expect(row.locator(".message")).to_have_text(f"step {STEPS} ({STEPS} of {STEPS})")
            assert await row.locator("progress").get_attribute("value") == "100"

            await page.click(f"#job-{slow_job} >> text={slow_job}")
            await expect(page.locator("table")).to_contain_text("done")
            assert errors == []
        finally:
            await browser.close()
