"""`marquee demo` as a user runs it: a real process on embedded defaults with the real local model.

Its first pipeline is most of what these tests cost, so they share one demo process (the ``demo`` fixture starts
another only when a test before stopped it): the pipeline and what it publishes, its console, the control page
in Chromium changing a user's AI Picks within seconds, and a clean stop on SIGTERM.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.demo_process import SETUP_TIMEOUT_S, DemoProcess

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
SHOTS = Path(os.environ.get("MARQUEE_SHOTS_DIR", "/tmp/shots-18-control"))
SERVING = r"^Serving until Ctrl\+C"

pytestmark = [pytest.mark.slow, pytest.mark.model]


class Demos:
    """The module's demo process, started when a test first needs one running (again after a test stopped it).

    Its data dir is outside pytest's tmp_path: as root, pgserver runs PostgreSQL as the user "pgserver", and every
    pytest session that starts resets /tmp/pytest-of-root to mode 0700 (see tests/test_cli.py)."""

    def __init__(self) -> None:
        self.parent = Path(tempfile.mkdtemp(prefix="marquee-demo-test-"))
        self.started: list[DemoProcess] = []

    def running(self) -> DemoProcess:
        if not self.started or not self.started[-1].running():
            data = self.parent / f"data-{len(self.started)}"
            demo = DemoProcess(data)
            self.started.append(demo)
            demo.wait_for_sync(SERVING, SETUP_TIMEOUT_S)
        return self.started[-1]

    def close(self) -> None:
        for demo in self.started:
            demo.stop()
        shutil.rmtree(self.parent, ignore_errors=True)


@pytest.fixture(scope="module")
def demos() -> Iterator[Demos]:
    held = Demos()
    try:
        yield held
    finally:
        held.close()


@pytest.fixture
def demo(demos: Demos) -> DemoProcess:
    """A demo that has run its first pipeline and is serving."""
    return demos.running()


def _setup_output(demo: DemoProcess) -> list[str]:
    """What the demo printed up to serving: the pipeline and where to look."""
    end = next(n for n, line in enumerate(demo.lines) if re.search(SERVING, line))
    return demo.lines[:end]


def test_the_first_pipeline_runs_and_publishes_private_libraries(demo: DemoProcess) -> None:
    out = _setup_output(demo)
    for step in (
        "initial-sync",
        "generate-embeddings",
        "generate-recommendations",
        "sync-movie-libraries",
        "refresh-top-picks",
    ):
        assert any(line.startswith(f"✓ {step}") for line in out), step
    sees = [line for line in out if " sees 'AI Picks - " in line]
    # two demo users + the admin, movies and series each, every one seeing only their own library
    assert len(sees) == 6, "\n".join(out)
    for line in sees:
        user, library = line.split(" sees '", 1)
        assert library.startswith(f"AI Picks - {user}"), line
        assert line.split(": ", 1)[1].strip(), f"empty library: {line}"
    assert any(line.startswith("Marquee:") and "alice / " in line for line in out)
    assert not any(line.startswith("'Top Picks - Series'") and "Season " in line for line in out)
    libraries = demo.data_dir / "demo" / "libraries"
    assert any(libraries.rglob("*.strm")), "no STRM files written"
    assert any(libraries.rglob("*.nfo")), "no NFO files written"
    assert not [line for line in out if "Traceback" in line]


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")
async def test_playing_a_title_changes_the_users_ai_picks_on_the_control_page(demo: DemoProcess) -> None:
    from playwright.async_api import async_playwright

    control = (await demo.wait_for(r"^Control page:", 1)).split()[2]
    await asyncio.to_thread(SHOTS.mkdir, parents=True, exist_ok=True)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1366, "height": 900})
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            await page.goto(f"{control}?user=alice")
            picks = page.locator('[data-library="AI Picks - alice"] [data-key]')
            await picks.first.wait_for(timeout=15_000)
            before = await picks.all_inner_texts()
            assert before, "alice's AI Picks list is empty"
            chosen = before[0]
            title = re.sub(r"\s*\(\d{4}\)$", "", chosen)
            await page.goto(f"{control}?user=alice&kind=movies&q={quote(title)}")
            row = page.locator(".title-row", has=page.locator(".name", has_text=title)).first
            await row.get_by_role("button", name=f"Play {title} to the end").click()
            await page.wait_for_url(re.compile(r"done=play"))
            assert await page.locator(".note.ok").inner_text() == (
                f"alice watched {title} to the end. The webhooks went out; the picks beside update by themselves."
            )
            # The watched title leaves alice's AI Picks on this page, and another one arrives, by themselves.
            started = time.monotonic()
            await page.wait_for_function(
                """title => {
                    const keys = [...document.querySelectorAll('[data-library="AI Picks - alice"] [data-key]')]
                        .map(li => li.dataset.key);
                    return keys.length > 0 && !keys.includes(title);
                }""",
                arg=chosen,
                timeout=45_000,  # a few seconds on a quiet machine; generous for a busy CI
            )
            changed_after = time.monotonic() - started
            await page.locator('[data-library="AI Picks - alice"] .left').wait_for(timeout=5_000)
            assert chosen in await page.locator('[data-library="AI Picks - alice"] .left').inner_text()
            assert await page.locator('[data-library="AI Picks - alice"] .arrived').count() >= 1
            assert await page.locator(".webhooks td.ok").count() > 0  # Marquee answered the webhooks (2xx)
            print(f"alice's AI Picks changed on the page {changed_after:.1f}s after Play")
            await page.screenshot(path=str(SHOTS / "control-1366x900.png"), full_page=False)
            await page.set_viewport_size({"width": 390, "height": 844})
            await page.screenshot(path=str(SHOTS / "control-390x844.png"), full_page=False)
            assert not errors, errors
        finally:
            await browser.close()


async def test_the_demo_console_stays_short(demo: DemoProcess) -> None:
    """The demo's first minutes at the default level: start-up, the pipeline, where to look, then one line per
    meaningful event — a playback through the control page brings one applied line and one republished line.
    (bob plays here: alice's plays belong to the Chromium test, which may have run first on this demo.)"""
    control = (await demo.wait_for(r"^Control page:", 1)).split()[2]
    mark = len(demo.lines)
    async with httpx.AsyncClient() as client:
        page = await client.get(control, params={"user": "bob", "kind": "movies"})
        assert page.status_code == 200, page.text
        token = re.search(r'name="token" value="([^"]+)"', page.text)
        item = re.search(r'name="item" value="([^"]+)"', page.text)
        assert token and item
        form = {"token": token.group(1), "user": "bob", "item": item.group(1), "action": "play"}
        assert (await client.post(f"{control}/Act", data=form)).status_code == 303
    await demo.wait_for(r"INFO .* bob watched .*; refreshing their picks", 60, since=mark)
    await demo.wait_for(r"INFO .* republished AI Picks - bob", 90, since=mark)
    lines = [line for line in demo.lines if line.strip()]  # what the person saw while it ran
    print(f"{len(lines)} console lines")  # the figure the issue asks for, kept in the test log
    assert len(lines) < 60, f"{len(lines)} lines:\n" + "\n".join(lines)
    assert not [line for line in lines if "arq.worker" in line or "[job " in line]
    assert not [line for line in lines if "Traceback" in line]


def test_sigterm_stops_the_demo_cleanly(demo: DemoProcess) -> None:
    """As Ctrl+C or `docker stop` would: exit 0, no traceback, and the simulator says at most once that Marquee is
    gone (not once per queued announcement)."""
    shown = len(demo.lines)
    returncode = demo.stop()
    assert returncode == 0, demo.tail()
    assert not [line for line in demo.lines if "Traceback" in line], demo.tail()
    stopping = demo.lines[shown:]
    assert sum("providers.simulator.webhooks" in line for line in stopping) <= 1, stopping  # one line per outage
