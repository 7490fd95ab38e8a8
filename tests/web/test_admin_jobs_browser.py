"""In headless Chromium: an admin runs a long job, watches its progress arrive over server-sent events on the
Jobs page and in the header's widget (which names the job), presses Cancel, and the run ends "cancelled"
within seconds with its work stopped (the table it writes stops growing). Then the same from the job's own
page. Set ``MARQUEE_SHOTS_DIR`` to keep screenshots of the pages at desktop and phone widths."""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from providers.simulator import Simulator
from sidecar.jobs import all_jobs
from sidecar.jobs.progress import Progress
from sidecar.jobs.registry import JobSpec
from sidecar.services import Services
from sidecar.settings import Settings
from sidecar.sync import state as sync_state
from sidecar.webhooks.store import A_COPY
from tests.web.conftest import Web, running_web
from tests.web.test_browser import CHROMIUM, CHROMIUM_ARGS

STEPS = 2000
JOB = "test-long-ticking"
# Cancel answers "was cancelled" once the run ended, or "was told to stop" if it is still finishing a step
STOPPED = re.compile(rf"{JOB} was (cancelled|told to stop)")
STOP_WITHIN_S = 15  # generous for a loaded 2-core CI machine; unloaded it takes well under a second
TICKING = re.compile(rf"^tick \d+ \(\d+ of {STEPS}\)$")  # the progress text: counts once, in words

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]


async def _long_job(services: Services, progress: Progress, **_: Any) -> dict[str, Any]:
    for i in range(STEPS):
        async with services.engine.begin() as conn:
            await conn.execute(text("INSERT INTO test_browser_tick (n) VALUES (:n)"), {"n": i})
        await progress.update(i + 1, STEPS, f"tick {i + 1}")
        await asyncio.sleep(0.05)
    return {"ticks": STEPS}


@pytest.fixture
async def web_with_worker(
    settings: Settings,
    sim: tuple[Simulator, str],
    clean_db: AsyncEngine,
    clean_redis: str,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Web]:
    monkeypatch.setattr(
        all_jobs, "JOBS", (*all_jobs.JOBS, JobSpec(JOB, _long_job, "Writes a row every 50 ms (test job)."))
    )
    async with clean_db.begin() as conn:
        await conn.execute(text("CREATE TABLE IF NOT EXISTS test_browser_tick (n int)"))
        await conn.execute(text("TRUNCATE test_browser_tick"))
    await sync_state.record(clean_db, sync_state.INITIAL_SYNC, {"by": "test"})  # no first sync racing the test
    simulator, url = sim
    async with running_web(settings, simulator, url, run_worker=True) as env:
        yield env


async def _ticks(web: Web) -> int:
    async with web.services.engine.connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM test_browser_tick"))).scalar_one())


async def _run_statuses(web: Web) -> list[str]:
    async with web.services.engine.connect() as conn:
        rows = await conn.execute(text("SELECT status FROM job_run WHERE job_name = :j ORDER BY id"), {"j": JOB})
        return [str(r[0]) for r in rows]


async def _work_stopped(web: Web) -> None:
    """The table the job writes stops growing: same count now and 0.6 s later (the job writes every 50 ms)."""
    before = await _ticks(web)
    await asyncio.sleep(0.6)
    assert await _ticks(web) == before < STEPS


async def _shoot(page: Any, name: str, focus: str | None = None) -> None:
    """Desktop and phone screenshots; on the phone the viewport around ``focus`` (a selector)."""
    target = os.environ.get("MARQUEE_SHOTS_DIR")
    if not target:
        return
    await asyncio.to_thread(Path(target).mkdir, parents=True, exist_ok=True)
    for width, height in ((1366, 900), (390, 844)):
        await page.set_viewport_size({"width": width, "height": height})
        if focus and width < 900:
            await page.locator(focus).scroll_into_view_if_needed()
        await page.screenshot(path=f"{target}/{name}-{width}.png", full_page=focus is None or width >= 900)
    await page.set_viewport_size({"width": 1366, "height": 900})


async def test_run_watch_and_cancel_a_long_job_in_chromium(web_with_worker: Web) -> None:
    from playwright.async_api import async_playwright, expect

    web = web_with_worker
    for _ in range(100):  # the worker seeds job_definition rows as it starts
        async with web.services.engine.connect() as conn:
            if (await conn.execute(text("SELECT 1 FROM job_definition WHERE name = :j"), {"j": JOB})).first():
                break
        await asyncio.sleep(0.1)

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1366, "height": 900})
            errors: list[str] = []
            requests: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("request", lambda request: requests.append(request.url))

            await page.goto(f"{web.base}/login")
            await page.fill("#name", "admin")
            await page.fill("#password", web.password("admin"))
            await page.click("button[type=submit]")
            await page.goto(f"{web.base}/admin/jobs")
            row = page.locator(f"#job-{JOB}")
            await expect(row.locator(".state")).to_contain_text("never")
            await expect(row.get_by_role("button", name="Cancel")).to_be_hidden()
            internal = page.locator("#job-user-follow-up")
            await expect(internal).to_contain_text("internal")
            assert await internal.get_by_role("button", name="Run now").count() == 0

            await row.get_by_role("button", name="Run now").click()
            await expect(page).to_have_url(re.compile(rf"/admin/jobs\?started={JOB}"))
            row = page.locator(f"#job-{JOB}")
            # progress arrives without reloading: the stream's events move the text and the bar
            await expect(row.locator(".message")).to_have_text(TICKING, timeout=10000)
            first = await row.locator(".message").text_content()
            await expect(row.locator(".message")).not_to_have_text(first or "", timeout=5000)
            await expect(row.locator(".state")).to_contain_text("running")
            await expect(row.get_by_role("button", name="Run now")).to_be_hidden()
            await expect(page.locator("#running-jobs")).to_contain_text(f"Running: {JOB}")
            assert any(u.endswith("/api/admin/jobs/events") for u in requests)
            assert not any("/api/admin/jobs/runs?active" in u for u in requests)  # no polling
            await _shoot(page, "jobs-running", f"#job-{JOB}")

            started = time.monotonic()
            await row.get_by_role("button", name="Cancel").click()
            await expect(page.locator(".flash")).to_contain_text(STOPPED)
            row = page.locator(f"#job-{JOB}")
            # the page answers once the run ended (or after 5 s on a very busy machine; the stream then shows it)
            await expect(row.locator(".state")).to_contain_text("cancelled", timeout=STOP_WITHIN_S * 1000)
            assert time.monotonic() - started < STOP_WITHIN_S
            assert await _run_statuses(web) == ["cancelled"]
            await _work_stopped(web)
            await expect(page.locator("#running-jobs")).to_be_hidden()
            await expect(row.get_by_role("button", name="Run now")).to_be_visible()
            await expect(row.get_by_role("button", name="Cancel")).to_be_hidden()
            await _shoot(page, "jobs-cancelled", f"#job-{JOB}")

            # the job's own page: Run now, progress over the run's stream, Cancel
            await page.click(f"#job-{JOB} >> text={JOB}")
            await expect(page).to_have_url(f"{web.base}/admin/jobs/{JOB}")
            await page.locator("#current-run").get_by_role("button", name="Run now").click()
            now = page.locator("#current-run")
            await expect(now.locator(".message")).to_have_text(TICKING, timeout=10000)
            await expect(now.locator(".state")).to_contain_text("running")
            assert any(re.search(r"/api/admin/jobs/runs/\d+/events$", u) for u in requests)
            await _shoot(page, "job-running")
            started = time.monotonic()
            await now.get_by_role("button", name="Cancel").click()
            await expect(page.locator(".flash")).to_contain_text(STOPPED)
            await expect(page.locator("#runs tr").nth(1)).to_contain_text("cancelled", timeout=STOP_WITHIN_S * 1000)
            assert time.monotonic() - started < STOP_WITHIN_S
            assert await _run_statuses(web) == ["cancelled", "cancelled"]
            await _work_stopped(web)
            await _shoot(page, "job-cancelled")

            # the webhook log: Marquee's own copies hidden by default, a type filter, pages
            async with web.services.engine.begin() as conn:
                for n in range(70):
                    own = n % 3 == 0
                    await conn.execute(
                        text(
                            "INSERT INTO webhook_event"
                            " (source, content_hash, headers, body, status, attempts, event_type, error)"
                            " VALUES ('jellyfin', :h, '{}', 'x', 'done', 1, :t, :e)"
                        ),
                        {"h": f"b{n}", "t": "item.added" if own else "playback.stop", "e": A_COPY if own else None},
                    )
            await page.click("header >> text=Webhooks")
            await expect(page.locator(".pager")).to_contain_text("1\u201346 of 46")
            await page.select_option("select[name=type]", "item.added")
            await page.check("input[name=own]")
            await page.get_by_role("button", name="Filter").click()
            await expect(page).to_have_url(re.compile(r"/admin/webhooks\?type=item.added&own=1$"))
            await expect(page.locator(".pager")).to_contain_text("1\u201324 of 24")
            await page.goto(f"{web.base}/admin/webhooks?own=1")
            await page.get_by_role("link", name="Older").click()
            await expect(page.locator(".pager")).to_contain_text("51\u201370 of 70")
            await _shoot(page, "webhooks", ".pager")
            assert errors == []
        finally:
            await browser.close()
