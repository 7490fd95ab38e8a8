"""In headless Chromium: every page, as a user and as an admin, loads under the Content Security Policy with
no violation and no script error, carries the security headers, and still works where inline code was moved
out (the delete-channel confirmation, the running-jobs indicator, the bars)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sidecar.db.models import JobDefinition, WatchState
from sidecar.web.middleware import SECURITY_HEADERS
from tests.web.conftest import Web
from tests.web.test_browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]

# Collects every CSP violation the page reports, from the first script on.
COLLECT_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__violations.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + (e.sourceFile || ""));
});
"""
USER_PAGES = [
    "/",
    "/picks",
    "/picks?media_type=series",
    "/browse",
    "/browse?q=Stage&genre=Western",
    "/items/{item}",
    "/taste",
    "/stats",
    "/stats?media_type=series",
    "/history",
    "/top-picks",
    "/channels",
    "/channels/new",
    "/channels/{channel}",
    "/channels/{channel}/edit",
    "/settings",
    "/no-such-page",
]
ADMIN_PAGES = ["/admin/settings", "/admin/jobs", "/admin/jobs/sync-movies", "/admin/webhooks"]


async def _content(web: Web) -> dict[str, Any]:
    """Picks, watch history (for the stats bars), a channel and a job, so the pages show what they can."""
    films = [
        await web.add_item("Stagecoach", year=1939, genres=["Western"], community_rating=7.8),
        await web.add_item("Rio Bravo", year=1959, genres=["Western", "Drama"], community_rating=8.0),
        await web.add_item("Heat", year=1995, genres=["Crime", "Drama"], community_rating=8.3),
    ]
    now = datetime.now(UTC)
    for name in ("alice", "admin"):
        user = await web.user_row(name)
        await web.add_picks(user, films[:2])
        async with web.services.sessions() as session:
            for n, film in enumerate(films):
                session.add(
                    WatchState(
                        user_id=user.id,
                        item_id=film.id,
                        played=True,
                        play_count=n + 1,
                        is_favorite=n == 0,
                        last_played_at=now - timedelta(days=40 * n),
                        completion=1.0,
                    )
                )
            await session.commit()
    async with web.services.sessions() as session:
        session.add(JobDefinition(name="sync-movies", description="Sync movies", schedule="daily:03:00"))
        await session.commit()
    client, token = await web.api_login("alice")
    created = await client.post(
        "/api/channels",
        json={"name": "Westerns", "genre_filters": ["Western"], "example_item_ids": [films[0].id]},
        headers={"X-CSRF-Token": token},
    )
    assert created.status_code == 201, created.text
    return {"item": films[0].id, "channel": created.json()["id"]}


# Run once the tasks queued so far have run: a violation's event is queued as the blocked load or script is
# refused, so by the page's load event (where goto returns) and one task later every one so far has fired.
AFTER_QUEUED_TASKS = "() => new Promise(done => setTimeout(() => done(window.__violations), 0))"


async def _visit(page: Any, url: str) -> tuple[int, dict[str, str], list[str]]:
    response = await page.goto(url)  # waits for the load event: every script, style and image has been tried
    violations: list[str] = await page.evaluate(AFTER_QUEUED_TASKS)
    return response.status, await response.all_headers(), violations


async def _log_in(page: Any, web: Web, name: str) -> None:
    await page.goto(f"{web.base}/login")
    await page.fill("#name", name)
    await page.fill("#password", web.password(name))
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{web.base}/")


async def test_every_page_satisfies_the_csp_for_users_and_admins(web: Web) -> None:
    from playwright.async_api import async_playwright

    ids = await _content(web)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for name, paths in (("alice", USER_PAGES), ("admin", USER_PAGES + ADMIN_PAGES)):
                context = await browser.new_context(viewport={"width": 1366, "height": 900})
                await context.add_init_script(COLLECT_VIOLATIONS)
                page = await context.new_page()
                problems: list[str] = []
                page.on("pageerror", lambda exc, problems=problems: problems.append(f"page error: {exc}"))
                page.on(
                    "console",
                    lambda msg, problems=problems: (
                        problems.append(f"console: {msg.text}")
                        if msg.type == "error" and "404" not in msg.text
                        else None
                    ),
                )
                status, headers, violations = await _visit(page, f"{web.base}/login")
                assert (status, violations) == (200, [])
                await _log_in(page, web, name)
                visited = 0
                for path in paths:
                    url = web.base + path.format(**ids)
                    if "{" in path and "channel" in path and name == "admin":
                        continue  # alice's channel is not shared with the admin
                    status, headers, violations = await _visit(page, url)
                    assert status == (404 if path == "/no-such-page" else 200), (name, path, status)
                    assert violations == [], (name, path, violations)
                    for header, value in SECURITY_HEADERS.items():
                        assert headers.get(header.lower()) == value, (name, path, header)
                    visited += 1
                assert visited >= len(USER_PAGES) - 3
                assert problems == [], (name, problems)

                # The collector does see a violation when there is one (an injected inline script).
                await page.evaluate(
                    "() => { const s = document.createElement('script'); s.textContent = 'window.ran = 1';"
                    " document.body.appendChild(s); }"
                )
                await page.wait_for_function("window.__violations.length > 0")
                assert await page.evaluate("window.ran === undefined")
                assert "script-src" in (await page.evaluate("window.__violations"))[0]
                await context.close()
        finally:
            await browser.close()


async def test_moved_scripts_and_styles_still_work(web: Web) -> None:
    """The delete confirmation (was an inline onsubmit), the stylesheet and the bars (were inline styles)."""
    from playwright.async_api import async_playwright, expect

    ids = await _content(web)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1366, "height": 900})
            await _log_in(page, web, "alice")

            # The stylesheet applies: the page background is the theme's, not the browser's white.
            background = await page.evaluate("getComputedStyle(document.body).backgroundColor")
            assert background == "rgb(17, 20, 24)"

            # Bars are drawn at their share of the row (the width the template gives each, in %): the score
            # breakdowns of the picks (the stats page draws SVG charts, tests/web/test_browser_pages.py).
            await page.goto(f"{web.base}/picks")
            bars = page.locator("svg.bar")
            shares = []
            for i in range(await bars.count()):
                box = await bars.nth(i).bounding_box()
                fill = await bars.nth(i).locator("rect").bounding_box()
                pct = float((await bars.nth(i).locator("rect").get_attribute("width") or "").rstrip("%"))
                assert box is not None and box["width"] > 20
                drawn = fill["width"] if fill else 0.0
                assert drawn == pytest.approx(box["width"] * pct / 100, abs=1.5), (i, pct, drawn, box)
                shares.append(pct)
            assert len(set(shares)) > 1 and all(0 < share <= 100 for share in shares)

            # Deleting a channel asks first; dismissing keeps it, accepting deletes it.
            channel_url = f"{web.base}/channels/{ids['channel']}"
            await page.goto(channel_url)
            page.once("dialog", lambda dialog: dialog.dismiss())
            await page.get_by_role("button", name="Delete channel").click()
            await expect(page).to_have_url(channel_url)
            await expect(page.locator("h1")).to_contain_text("Westerns")
            page.once("dialog", lambda dialog: dialog.accept())
            await page.get_by_role("button", name="Delete channel").click()
            await expect(page).to_have_url(re.compile(r"/channels$"))
            assert (await page.goto(channel_url)).status == 404
        finally:
            await browser.close()
