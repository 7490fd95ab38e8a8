"""The quiet console: at the default level per-job lines stay out (the running demo's console stays short:
tests/test_demo.py)."""

from __future__ import annotations

import logging
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
