"""Every page in headless Chromium, as a user and as an admin, on a desktop (1366 by 900) and a phone (390 by 844):
nothing is wider than the viewport, charts carry text alternatives, images load or fall back to a placeholder,
the phone's menu folds away, and axe-core finds no serious or critical accessibility violation on the main
pages. One browser for the module; each page is loaded once per user and viewport and every check reads what
that visit recorded. Full-page screenshots go to ``$MARQUEE_SCREENSHOTS_DIR`` (or a pytest temporary folder).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from providers.simulator import Simulator, serve_simulator, synthetic_catalog
from sidecar.db.models import Item, JobDefinition, TopPick, WatchState
from sidecar.jobs.progress import Progress
from sidecar.jobs.sync_jobs import initial_sync_job
from sidecar.settings import Settings
from tests.conftest import _truncate_all
from tests.web.conftest import Web, running_web
from tests.web.test_browser import CHROMIUM, CHROMIUM_ARGS

REPO = Path(__file__).resolve().parents[2]
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
VIEWPORTS = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
AXE_PAGES = {"/", "/picks", "/items/{movie}", "/stats", "/admin/jobs"}  # checked as the admin, on both sizes

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]

USER_PAGES = [
    "/",
    "/picks",
    "/picks?media_type=series",
    "/browse",
    "/items/{movie}",
    "/items/{series}",
    "/taste",
    "/stats",
    "/stats?media_type=series",
    "/history",
    "/history?media_type=series",
    "/top-picks",
    "/channels",
    "/channels/new",
    "/channels/{channel}",
    "/channels/{channel}/edit",
    "/settings",
    "/no-such-page",
]
# The admin's screenshots: their own pages and those that differ for an admin (user pages are the user's).
ADMIN_SHOTS = {"/", "/no-such-page"}
OWN_PAGES = [p for p in USER_PAGES if "{channel}" not in p]  # alice's channel is hers alone
# Admin pages that exist in this build (pages still being written elsewhere join when their route does).
ADMIN_PAGES = [
    "/admin/settings",
    "/admin/server",
    "/admin/users",
    "/admin/users/{alice}",
    "/admin/models",
    "/admin/database",
    "/admin/jobs",
    "/admin/jobs/sync-movies",
    "/admin/webhooks",
    "/admin/quality",
]

MEASURE = """() => {
  const vw = window.innerWidth;
  const wide = [];
  for (const el of document.querySelectorAll("body *")) {
    const r = el.getBoundingClientRect();
    if (r.width && r.right > vw + 1 && !el.closest("table, .table-wrap, pre")) {
      wide.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
        (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\\s+/).join(".") : "") +
        " right=" + Math.round(r.right));
      if (wide.length >= 5) { break; }
    }
  }
  const charts = [...document.querySelectorAll("svg.chart")].map(svg => ({
    role: svg.getAttribute("role"),
    label: svg.getAttribute("aria-label") || "",
    title: (svg.querySelector("title") || {}).textContent || "",
    table: !!(svg.closest("figure") && svg.closest("figure").querySelector("details.data-table table tbody tr")),
    texts: svg.querySelectorAll("text").length,
    width: svg.getBoundingClientRect().width,
  }));
  const images = [...document.images].map(img => ({
    src: img.getAttribute("src"), ok: img.complete && img.naturalWidth > 0,
  }));
  const cards = [...document.querySelectorAll(".grid .card")].slice(0, 6)
    .map(c => Math.round(c.getBoundingClientRect().top));
  const links = [...document.querySelectorAll("header nav a")];
  return {
    scrollWidth: document.documentElement.scrollWidth, innerWidth: vw, wide, charts, images,
    firstRowCards: cards.filter(t => t === cards[0]).length,
    navVisible: links.filter(a => a.checkVisibility()).length,
    navLinks: links.map(a => a.textContent.trim()),
    keys: [...document.querySelectorAll("img")].map(i => i.src).filter(s => /api_?key|token=/i.test(s)),
  };
}"""
LOAD_IMAGES = """async () => {
  const imgs = [...document.images];
  imgs.forEach(img => { img.loading = "eager"; });
  await Promise.all(imgs.map(img => img.complete ? null : new Promise(done => {
    img.addEventListener("load", done, {once: true}); img.addEventListener("error", done, {once: true});
  })));
}"""
AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))}));
}"""


@dataclass
class Visit:
    status: int
    measures: dict[str, Any]
    errors: list[str]
    screenshot: Path | None
    axe: list[dict[str, Any]] | None = None
    menu_opens: bool | None = None
    seconds: tuple[float, float] = (0.0, 0.0)  # loading, then measuring and the screenshot


@dataclass
class Site:
    ids: dict[str, int]
    shots: Path
    visits: dict[tuple[str, str, str], Visit] = field(default_factory=dict)
    axe_missing: str | None = None

    def of(self, path: str) -> list[tuple[str, str, Visit]]:
        return [(who, vp, v) for (who, vp, p), v in self.visits.items() if p == path]


def _axe_source() -> tuple[str | None, str | None]:
    """axe-core from node_modules (``npm ci`` installs the pinned version when it is missing and npm is here)."""
    if not AXE.exists() and shutil.which("npm"):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=REPO, check=False, timeout=300)
    if not AXE.exists():
        return None, "axe-core is not installed: run `npm ci` (scripts/bootstrap does when npm is available)"
    return AXE.read_text(), None


async def _content(web: Web) -> dict[str, int]:
    """The simulator's catalogue synced for real, then watch history, picks, Top Picks, a channel and a job."""
    await initial_sync_job(web.services, Progress.detached())
    async with web.services.sessions() as session:
        movies = list((await session.exec(select(Item).where(Item.kind == "Movie").order_by(col(Item.id)))).all())
        series = list((await session.exec(select(Item).where(Item.kind == "Series").order_by(col(Item.id)))).all())
        episodes = list((await session.exec(select(Item).where(Item.kind == "Episode").order_by(col(Item.id)))).all())
    assert len(movies) >= 8 and series and episodes
    now = datetime.now(UTC)
    for name in ("alice", "admin"):
        user = await web.user_row(name)
        await web.add_picks(user, movies[6:12])
        await web.add_picks(user, series[1:], "series")
        async with web.services.sessions() as session:
            for n, item in enumerate(movies[:6] + episodes[:8]):
                existing = await session.get(WatchState, (user.id, item.id))
                state = existing or WatchState(user_id=user.id, item_id=item.id)
                state.played, state.play_count, state.is_favorite = True, 1 + n % 3, n % 4 == 0
                state.last_played_at, state.completion = now - timedelta(days=23 * n), 1.0
                session.add(state)
            await session.commit()
    async with web.services.sessions() as session:
        for rank, item in enumerate(movies[:5], start=1):
            session.add(
                TopPick(
                    media_type="movies",
                    item_id=item.id,
                    rank=rank,
                    score=1 / rank,
                    unique_viewers=3 - rank % 3,
                    play_count=7 - rank,
                    completion=0.9,
                )
            )
        for rank, item in enumerate(series, start=1):
            session.add(
                TopPick(
                    media_type="series",
                    item_id=item.id,
                    rank=rank,
                    score=1 / rank,
                    unique_viewers=1,
                    play_count=2,
                    completion=0.5,
                )
            )
        if await session.get(JobDefinition, "sync-movies") is None:
            session.add(JobDefinition(name="sync-movies", description="Sync movies", schedule="daily:03:00"))
        await session.commit()
    client, token = await web.api_login("alice")
    created = await client.post(
        "/api/channels",
        json={"name": "Westerns and more", "genre_filters": movies[0].genres[:1], "example_item_ids": [movies[0].id]},
        headers={"X-CSRF-Token": token},
    )
    assert created.status_code == 201, created.text
    alice = await web.user_row("alice")
    assert movies[0].id and series[0].id and alice.id
    return {"movie": movies[0].id, "series": series[0].id, "channel": created.json()["id"], "alice": alice.id}


def _shots_dir(tmp: Path) -> Path:
    shots = Path(os.environ.get("MARQUEE_SCREENSHOTS_DIR") or tmp / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    return shots


def _shot_name(who: str, viewport: str, url: str) -> str:
    return f"{who}-{viewport}-{re.sub(r'[^a-z0-9]+', '-', url.lower()).strip('-') or 'home'}.jpg"


async def _log_in(page: Any, web: Web, name: str) -> None:
    await page.goto(f"{web.base}/login")
    await page.fill("#name", name)
    await page.fill("#password", web.password(name))
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{web.base}/")


@pytest.fixture(scope="module")
async def site(
    pg_url: str, redis_url: str, migrated_engine: AsyncEngine, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Site]:
    from playwright.async_api import async_playwright

    await _truncate_all(migrated_engine)
    redis: Redis = Redis.from_url(redis_url)
    await redis.flushdb()
    await redis.aclose()
    tmp = tmp_path_factory.mktemp("browser-pages")
    shots = _shots_dir(tmp)
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp / "data",
        database_url=SecretStr(pg_url),
        redis_url=SecretStr(redis_url),
        session_secret=SecretStr("test-session-secret-0123456789abcdef"),
        webhook_secret=SecretStr("test-webhook-secret"),
        strm_root=tmp / "libraries",
    )
    simulator = Simulator("jellyfin", catalog=synthetic_catalog(14, 3, seed=5), users=["alice", "bob"], seed=7)
    axe_source, axe_missing = _axe_source()
    async with serve_simulator(simulator) as url, running_web(settings, simulator, url, run_worker=False) as web:
        started = time.monotonic()
        ids = await _content(web)
        print(f"content: {time.monotonic() - started:.1f} s")
        result = Site(ids, shots, axe_missing=axe_missing)
        routes = {getattr(r, "path", "") for r in _app_routes()}
        admin_pages = [p for p in ADMIN_PAGES if _route_of(p) in routes]
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)

            async def visit_all(who: str, pages: list[str], vp: str, size: dict[str, int]) -> None:
                context = await browser.new_context(viewport=size)
                page = await context.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
                await _log_in(page, web, who)
                for path in pages:
                    errors.clear()
                    t0 = time.monotonic()
                    response = await page.goto(web.base + path.format(**ids))
                    t1 = time.monotonic()
                    await page.evaluate(LOAD_IMAGES)
                    measures = await page.evaluate(MEASURE)
                    shot = None
                    if who == "alice" or path in ADMIN_SHOTS or path.startswith("/admin"):
                        shot = shots / _shot_name(who, vp, path.format(**ids))
                        await page.screenshot(path=str(shot), full_page=True, type="jpeg", quality=70)
                    visit = Visit(response.status, measures, list(errors), shot)
                    if path in AXE_PAGES and axe_source is not None and who == "admin":
                        await page.evaluate(axe_source)
                        visit.axe = await page.evaluate(AXE_RUN)
                    if path == "/" and vp == "phone":
                        await page.click("header summary")
                        visit.menu_opens = await page.locator("header nav a").first.is_visible()
                        await page.screenshot(path=str(shots / _shot_name(who, vp, "menu-open")), type="jpeg")
                    visit.seconds = (round(t1 - t0, 2), round(time.monotonic() - t1, 2))
                    result.visits[(who, vp, path)] = visit
                await context.close()
                print(f"{who} {vp}: {time.monotonic() - started:.1f} s")

            try:
                # The four users and sizes side by side in one browser: each visit waits on Chromium and the
                # server in turn, so together they keep both busy.
                await asyncio.gather(
                    *(
                        visit_all(who, pages, vp, size)
                        for who, pages in (("alice", USER_PAGES), ("admin", [*OWN_PAGES, *admin_pages]))
                        for vp, size in VIEWPORTS.items()
                    )
                )
            finally:
                await browser.close()
        slowest = sorted(result.visits.items(), key=lambda kv: -sum(kv[1].seconds))[:8]
        print("slowest visits:", [(k, v.seconds) for k, v in slowest])
        print(
            "axe, every impact:", sorted({(x["id"], x["impact"]) for v in result.visits.values() for x in v.axe or []})
        )
        yield result


def _app_routes() -> list[Any]:
    from sidecar.app import app_routes

    return app_routes()


def _route_of(path: str) -> str:
    return (
        re.sub(r"\{alice\}", "{user_id:id}", path) if "{alice}" in path else re.sub(r"/sync-movies$", "/{name}", path)
    )


def test_no_page_is_wider_than_the_viewport(site: Site) -> None:
    too_wide = {
        f"{who} {vp} {path}": (v.measures["scrollWidth"], v.measures["innerWidth"], v.measures["wide"])
        for (who, vp, path), v in site.visits.items()
        if v.measures["scrollWidth"] > v.measures["innerWidth"]
    }
    assert too_wide == {}
    assert len(site.visits) >= 2 * 2 * len(USER_PAGES)


def test_pages_load_without_script_errors(site: Site) -> None:
    wrong = {
        f"{who} {vp} {path}": (v.status, v.errors)
        for (who, vp, path), v in site.visits.items()
        if v.errors or v.status != (404 if path == "/no-such-page" else 200)
    }
    assert wrong == {}


def test_an_error_page_keeps_the_users_navigation(site: Site) -> None:
    for who, _vp, visit in site.of("/no-such-page"):
        assert visit.status == 404
        assert "My picks" in visit.measures["navLinks"] and "Watch stats" in visit.measures["navLinks"]
        assert ("Jobs" in visit.measures["navLinks"]) == (who == "admin")


def test_phone_menu_is_folded_until_opened_and_open_on_a_desktop(site: Site) -> None:
    for who in ("alice", "admin"):
        phone, desktop = site.visits[(who, "phone", "/")], site.visits[(who, "desktop", "/")]
        assert phone.measures["navVisible"] == 0
        assert phone.menu_opens is True
        assert desktop.measures["navVisible"] == len(desktop.measures["navLinks"]) >= 8


def test_posters_come_two_or_three_to_a_row_on_a_phone(site: Site) -> None:
    for path in ("/picks", "/top-picks"):
        assert site.visits[("alice", "phone", path)].measures["firstRowCards"] in (2, 3), path
        assert site.visits[("alice", "desktop", path)].measures["firstRowCards"] >= 5, path


def test_stats_charts_render_with_text_alternatives(site: Site) -> None:
    for path in ("/stats", "/stats?media_type=series"):
        for who, vp, visit in site.of(path):
            charts = visit.measures["charts"]
            # comparison, genres, timeline, decades, official and community ratings
            assert len(charts) >= 5, (who, vp, path, charts)
            for chart in charts:
                assert chart["role"] == "img" and chart["title"] and chart["label"].startswith(chart["title"])
                assert chart["table"], chart  # the numbers, as a table
                assert chart["texts"] >= 2 and chart["width"] > 150, chart  # numbers written on the chart


def test_images_load_or_fall_back_and_carry_no_key(site: Site) -> None:
    broken = {
        f"{who} {vp} {path}": [i["src"] for i in v.measures["images"] if not i["ok"]]
        for (who, vp, path), v in site.visits.items()
        if any(not i["ok"] for i in v.measures["images"])
    }
    assert broken == {}
    assert all(not v.measures["keys"] for v in site.visits.values())
    sources = {i["src"] for v in site.visits.values() for i in v.measures["images"]}
    assert any(s.startswith("/images/users/") for s in sources)  # avatars in the header
    assert any(s.startswith("/images/people/") for s in sources)  # faces on the stats page
    assert any(s.startswith("/images/studios/") for s in sources)  # logos on the stats page
    assert any(s.startswith("/images/items/") for s in sources)  # posters


def test_axe_finds_no_serious_or_critical_violations(site: Site) -> None:
    if site.axe_missing:
        pytest.skip(site.axe_missing)
    checked = {(who, vp, path): v.axe for (who, vp, path), v in site.visits.items() if v.axe is not None}
    assert {path for _, _, path in checked} == AXE_PAGES
    serious = {
        f"{who} {vp} {path}": [x for x in found if x["impact"] in ("serious", "critical")]
        for (who, vp, path), found in checked.items()
        if any(x["impact"] in ("serious", "critical") for x in found)
    }
    assert serious == {}


def test_screenshots_are_kept_for_every_page_and_size(site: Site) -> None:
    for (who, vp, path), visit in site.visits.items():
        if who == "alice" or path in ADMIN_SHOTS or path.startswith("/admin"):
            assert visit.screenshot and visit.screenshot.stat().st_size > 2000, (who, vp, path)
    shot = {(vp, path) for (_, vp, path), visit in site.visits.items() if visit.screenshot}
    assert shot == {(vp, path) for _, vp, path in site.visits}  # every page at both sizes
