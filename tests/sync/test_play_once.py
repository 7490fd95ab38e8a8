"""One playback counts one play: the simulator sends the real webhooks of each server to a running Marquee.

Jellyfin's webhook plugin sends PlaybackStart, PlaybackStop *and* UserDataSaved (PlaybackFinished) for one
playback; Emby sends playback.start and playback.stop. Whatever order the jobs apply them in, and whether
they run at once or long after the playback (worker down), each full playback records exactly one completed
play, a half-watched one none, and Top Picks counts one play per playback.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from sidecar.app import create_app
from sidecar.jobs.progress import Progress
from sidecar.jobs.sync_jobs import initial_sync_job
from sidecar.jobs.worker import stop_worker
from sidecar.publish.popularity import popularity
from sidecar.services import Services
from tests.servers import serve
from tests.sync.conftest import SimEnv, sync_worker

pytestmark = pytest.mark.filterwarnings("ignore:\\s*.*You probably want to use `session.exec\\(\\)`:DeprecationWarning")


async def _settled(services: Services, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        async with services.engine.connect() as conn:
            pending = (await conn.execute(text("SELECT count(*) FROM webhook_event WHERE status = 'pending'"))).scalar()
        if pending == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("webhook events still pending")


async def _stored(services: Services, count: int, timeout_s: float = 30.0) -> dict[str, int]:
    """Stored events by status, once ``count`` are stored (the simulator's drain() may return before its
    last delivery has been answered)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        async with services.engine.connect() as conn:
            rows = (await conn.execute(text("SELECT status, count(*) FROM webhook_event GROUP BY status"))).all()
        if sum(int(r[1]) for r in rows) >= count:
            return {str(r[0]): int(r[1]) for r in rows}
        await asyncio.sleep(0.05)
    raise AssertionError(f"fewer than {count} webhook events stored")


async def _completed_plays(services: Services) -> Counter[str]:
    async with services.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT i.provider_id FROM play_event pe JOIN item i ON i.id = pe.item_id WHERE pe.completed")
        )
        return Counter(str(r[0]) for r in rows)


async def _popular_plays(services: Services, since: datetime) -> dict[str, int]:
    async with services.sessions() as session:
        stats = await popularity(session, "movies", since)
        ids = {
            int(r[0]): str(r[1])
            for r in await (await session.connection()).execute(text("SELECT id, provider_id FROM item"))
        }
    return {ids[s.item_id]: s.plays for s in stats}


def _unwatched_movies(env: SimEnv, user: str, count: int) -> list[str]:
    truth = env.sim_truth()
    uid = env.user_id(user)
    movies = [i.id for i in env.sim.items.values() if i.type == "Movie" and (uid, i.id) not in truth]
    assert len(movies) >= count
    return movies[:count]


@pytest.mark.parametrize("flavor", ["jellyfin", "emby"])
async def test_one_playback_counts_one_play(sim_env: SimEnv, flavor: str) -> None:
    sim, services = sim_env.sim, sim_env.services
    await initial_sync_job(services, Progress.detached())
    since = datetime.now(UTC) - timedelta(seconds=1)
    full_a, full_b, half, again = _unwatched_movies(sim_env, "alice", 4)
    app = create_app(sim_env.settings, run_worker=False)
    async with serve(app) as base:
        sim.webhooks.add_target(f"{base}/webhooks/{flavor}?token={sim_env.settings.secret_value('webhook_secret')}")

        # Late: the worker is down while the playbacks happen; every event is applied afterwards against the
        # server's final truth, the jobs of one playback racing each other.
        sim.play("alice", full_a, fraction=1.0)
        sim.play("alice", full_b, fraction=1.0)
        sim.play("alice", half, fraction=0.5)
        per_playback = {"jellyfin": (3, 3), "emby": (2, 0)}[flavor]  # (applied, ignored progress reports)
        expected = {"pending": 3 * per_playback[0], "ignored": 3 * per_playback[1]}
        assert await _stored(services, 3 * sum(per_playback)) == {k: n for k, n in expected.items() if n}
        worker = sync_worker(services, stages=sim_env.stages, burst=True)
        await asyncio.wait_for(worker.async_run(), 60)
        await worker.close()
        assert await _completed_plays(services) == Counter({full_a: 1, full_b: 1})

        # Live: the worker runs while the playbacks happen; a title watched twice counts twice.
        worker = sync_worker(services, stages=sim_env.stages, burst=False)
        task = asyncio.create_task(worker.async_run())
        try:
            sim.play("alice", again, fraction=1.0)
            await _stored(services, 4 * sum(per_playback))
            await _settled(services)
            sim.play("alice", again, fraction=1.0)
            await _stored(services, 5 * sum(per_playback))
            await _settled(services)
        finally:
            await stop_worker(worker, task)
    assert await _completed_plays(services) == Counter({full_a: 1, full_b: 1, again: 2})
    async with services.engine.connect() as conn:
        done = (await conn.execute(text("SELECT count(*) FROM webhook_event WHERE status = 'done'"))).scalar()
        plays: Any = (
            await conn.execute(text("SELECT count(*), count(DISTINCT webhook_event_id) FROM play_event"))
        ).one()
    assert done == 5 * per_playback[0]
    assert plays[0] == plays[1] <= done  # one play event at most per event, none for an event that brought nothing
    assert await _popular_plays(services, since) == {full_a: 1, full_b: 1, half: 1, again: 2}
