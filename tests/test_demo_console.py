"""The quiet console: at the default level per-job lines stay out, and the demo's console stays short."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from providers.simulator.demo_catalogue import demo_catalogue
from providers.simulator.serve import serve_simulator
from providers.simulator.state import Simulator
from sidecar.app import create_app
from sidecar.db.models import Item, PlayEvent
from sidecar.jobs.progress import Progress
from sidecar.logs import PER_JOB_LOGGERS, configure_logging
from sidecar.publish.listing import listed_titles
from sidecar.publish.top_picks import refresh_top_picks_for
from sidecar.services import Services
from sidecar.settings import Settings
from tests.publish.simulated import simulated_world
from tests.servers import serve
from tests.web.conftest import web_settings

NOW = datetime.now(UTC)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    saved = {name: logging.getLogger(name).level for name in PER_JOB_LOGGERS}
    yield
    root.handlers[:], root.level = saved_handlers, saved_level
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


def _printed(capsys: pytest.CaptureFixture[str], level: str) -> list[str]:
    configure_logging(level)
    logging.getLogger("arq.worker").info("  0.02s → process-webhook-event:process-webhook-event(event_id=7)")
    logging.getLogger("uvicorn.access").info('127.0.0.1:5000 - "POST /webhooks/jellyfin HTTP/1.1" 202')
    logging.getLogger("sidecar.jobs.progress").debug("[job 3] movies: 300 items")
    logging.getLogger("sidecar.webhooks.apply").info("alice watched Heat; refreshing their picks")
    logging.getLogger("arq.worker").error("job 12 failed")
    return [line for line in capsys.readouterr().err.splitlines() if line.strip()]


def test_default_level_keeps_per_job_lines_out(restore_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    lines = _printed(capsys, "INFO")
    assert len(lines) == 2, lines
    assert "alice watched Heat" in lines[0]
    assert "job 12 failed" in lines[1]


def test_debug_brings_per_job_lines_back(restore_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    lines = _printed(capsys, "DEBUG")
    assert any("process-webhook-event" in line for line in lines), lines
    assert any("POST /webhooks/jellyfin" in line for line in lines), lines
    assert any("[job 3] movies: 300 items" in line for line in lines), lines
    assert len(lines) == 5, lines


async def test_top_picks_series_lists_series_only(services: Services, tmp_path: Path) -> None:
    async with simulated_world(services, "jellyfin", tmp_path, users=("alice", "bob"), movies=4, series=3) as world:
        episode_of = {}
        async with services.sessions() as session:
            for show in world.series[:2]:
                episode_of[show.id] = (await session.exec(select(Item).where(Item.series_id == show.id))).first()
            for user in world.users.values():
                for episode in episode_of.values():
                    assert episode is not None
                    session.add(PlayEvent(user_id=user.id, item_id=episode.id, kind="stop", at=NOW, completed=True))
            await session.commit()
        await refresh_top_picks_for(services, "series", Progress.detached())
        library = next(lib for lib in await world.server.list_libraries() if lib.name == "Top Picks - Series")
        everything = [item async for item in world.server.iter_items(None, parent_id=library.id)]
        assert {"Series", "Season", "Episode"} <= {item.type for item in everything}  # what a recursive listing holds
        titles = await listed_titles(world.server, library, None, 10)
        assert sorted(titles) == sorted(show.name for show in world.series[:2])


async def test_home_links_the_control_page_only_in_the_demo(
    settings: Settings, clean_db: AsyncEngine, clean_redis: str
) -> None:
    sim = Simulator("jellyfin", catalog=demo_catalogue(6, 1), users=["alice"])
    async with serve_simulator(sim) as url:
        plain = create_app(web_settings(settings, url, sim.admin_api_key), run_worker=False)
        async with serve(plain) as base, httpx.AsyncClient(base_url=base) as client:
            page = await client.get("/")
            assert page.status_code == 200 and "/Sim/Control" not in page.text
        demo = create_app(web_settings(settings, url, sim.admin_api_key), run_worker=False)
        demo.state.demo_control_url = f"{url}/Sim/Control"
        async with serve(demo) as base, httpx.AsyncClient(base_url=base) as client:
            page = await client.get("/")
            assert f'href="{url}/Sim/Control"' in page.text and "simulator's control page" in page.text


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Console:
    """`marquee demo`'s console, read line by line in a thread (stdout and stderr together, as a terminal shows)."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(timeout=5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return self.proc.returncode

    async def wait_for(self, pattern: str, timeout_s: float) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = next((line for line in self.lines if re.search(pattern, line)), None)
            if found is not None:
                return found
            assert self.proc.poll() is None, "the demo stopped:\n" + "\n".join(self.lines[-40:])
            await asyncio.sleep(0.2)
        raise AssertionError(f"no line matching {pattern!r} within {timeout_s}s:\n" + "\n".join(self.lines[-40:]))


@pytest.fixture
def demo_console(tmp_path: Path) -> Iterator[Console]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARQUEE_")} | {
        "MARQUEE_DATA_DIR": str(tmp_path / "data"),
        "MARQUEE_PORT": str(_free_port()),
    }
    args = ["demo", "--movies", "60", "--series", "8", "--users", "2", "--simulator-port", str(_free_port())]
    proc = subprocess.Popen(
        [sys.executable, "-m", "sidecar.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    console = Console(proc)
    try:
        yield console
    finally:
        console.stop()


@pytest.mark.slow
@pytest.mark.model
async def test_the_demo_console_stays_short(demo_console: Console) -> None:
    """The demo's first minutes at the default level: start-up, the pipeline, where to look, then one line per
    meaningful event — a playback through the control page brings one applied line and one republished line."""
    console = demo_console
    started = time.monotonic()
    control = (await console.wait_for(r"^Control page:", 420)).split()[2]
    await console.wait_for(r"^Serving until Ctrl\+C", 30)
    async with httpx.AsyncClient() as client:
        page = await client.get(control, params={"user": "alice", "kind": "movies"})
        assert page.status_code == 200, page.text
        token = re.search(r'name="token" value="([^"]+)"', page.text)
        item = re.search(r'name="item" value="([^"]+)"', page.text)
        assert token and item
        form = {"token": token.group(1), "user": "alice", "item": item.group(1), "action": "play"}
        assert (await client.post(f"{control}/Act", data=form)).status_code == 303
    await console.wait_for(r"INFO .* alice watched .*; refreshing their picks", 60)
    await console.wait_for(r"INFO .* republished AI Picks - alice", 90)
    lines = [line for line in console.lines if line.strip()]  # what the person saw while it ran
    elapsed = time.monotonic() - started
    returncode = await asyncio.to_thread(console.stop)
    print(f"{len(lines)} console lines in {elapsed:.0f}s")  # the figure the issue asks for, kept in the test log
    assert returncode == 0, "\n".join(lines[-40:])
    assert len(lines) < 60, f"{len(lines)} lines in {elapsed:.0f}s:\n" + "\n".join(lines)
    assert not [line for line in lines if "arq.worker" in line or "[job " in line]
    assert not [line for line in console.lines if "Traceback" in line]
    stopping = console.lines[len(lines) :]
    assert sum("providers.simulator.webhooks" in line for line in stopping) <= 1, stopping  # one line per outage
    for step in ("initial-sync", "generate-recommendations", "sync-movie-libraries", "refresh-top-picks"):
        assert any(line.startswith(f"✓ {step}") for line in lines), step
    assert any(line.startswith("Marquee:") and "alice / " in line for line in lines)
    assert not any(line.startswith("'Top Picks - Series'") and "Season " in line for line in lines)
