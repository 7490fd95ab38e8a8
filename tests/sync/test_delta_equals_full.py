"""The delta sync (several users read at once, their pages written together) leaves the database as a full
re-read would, over random plays, marks, un-marks, favourites and whole-series marks; and a failed read
moves no user's cursor."""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import text

from providers.errors import MediaServerError
from providers.simulator import Simulator
from sidecar.jobs.progress import Progress
from sidecar.jobs.sync_jobs import initial_sync_job
from sidecar.sync import watch
from sidecar.sync.watch import sync_watch_history
from tests.sync.conftest import SimEnv


def _random_changes(sim: Simulator, rng: random.Random, count: int) -> None:
    users = [u.name for u in sim.users.values()]  # the admin too
    movies = [i.id for i in sim.items.values() if i.type == "Movie"]
    episodes = [i.id for i in sim.items.values() if i.type == "Episode"]
    folders = [i.id for i in sim.items.values() if i.type in ("Series", "Season")]
    for _ in range(count):
        user = rng.choice(users)
        roll = rng.random()
        if roll < 0.15:  # clear something the user has (an empty state: the row goes)
            touched = [i for i in movies + episodes if sim.get_user_data(sim.user(user).id, sim.items[i]).play_count]
            if touched:
                item = rng.choice(touched)
                sim.mark_played(user, item, played=False, notify=False)
                sim.set_favorite(user, item, favorite=False, notify=False)
        elif roll < 0.3:
            sim.mark_played(user, rng.choice(movies + episodes), played=rng.random() < 0.6, notify=False)
        elif roll < 0.45:
            sim.mark_played(user, rng.choice(folders), played=rng.random() < 0.5, notify=False)
        elif roll < 0.7:
            target = rng.choice(movies + [f for f in folders if sim.items[f].type == "Series"])
            sim.set_favorite(user, target, favorite=rng.random() < 0.6, notify=False)
        else:
            sim.play(user, rng.choice(movies + episodes), fraction=rng.choice([0.02, 0.4, 1.0]))


async def _rows(env: SimEnv) -> dict[tuple[str, str], tuple[Any, ...]]:
    async with env.services.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT u.provider_id, i.provider_id, ws.played, ws.play_count, ws.is_favorite, ws.last_played_at,"
                " ws.position_ticks, round(ws.completion::numeric, 9), ws.rating FROM watch_state ws"
                " JOIN app_user u ON u.id = ws.user_id JOIN item i ON i.id = ws.item_id"
            )
        )
        return {(r[0], r[1]): tuple(r[2:]) for r in rows}


async def _cursors(env: SimEnv) -> dict[str, datetime]:
    async with env.services.engine.connect() as conn:
        rows = await conn.execute(text("SELECT provider_id, watch_synced_at FROM app_user"))
        return {r[0]: r[1] for r in rows}


@pytest.mark.parametrize(("seed", "chunk"), [(1, 500), (2, 500), (3, 7)])
async def test_delta_leaves_what_a_full_read_leaves(
    sim_env: SimEnv, seed: int, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(watch, "CHUNK", chunk)  # 7: rows are written in many chunks before the last one
    sim = sim_env.sim
    await initial_sync_job(sim_env.services, Progress.detached())
    rng = random.Random(seed)
    reports: list[tuple[int, int]] = []

    async def report(done: int, total: int) -> None:
        reports.append((done, total))

    for _ in range(3):
        _random_changes(sim, rng, 40)
        before = await _cursors(sim_env)
        result = await sync_watch_history(sim_env.services, full=False, report=report)
        after_delta = await _rows(sim_env)
        assert all(after > before[user] for user, after in (await _cursors(sim_env)).items())
        await sync_watch_history(sim_env.services, full=True)
        assert after_delta == await _rows(sim_env)
        assert result["users"] == len(sim.users) and result["items"] > 0
    assert reports == [(n, len(sim.users)) for n in range(1, len(sim.users) + 1)] * 3


async def test_a_failed_full_read_is_raised(sim_env: SimEnv) -> None:
    await initial_sync_job(sim_env.services, Progress.detached())
    sim_env.sim.inject_fault(500, count=50, path_contains="/items")
    with pytest.raises(MediaServerError):
        await sync_watch_history(sim_env.services, full=True)
    sim_env.sim.faults.clear()
    await sync_watch_history(sim_env.services, full=True)
    assert await _rows(sim_env)


async def test_a_failed_read_moves_no_cursor(sim_env: SimEnv) -> None:
    sim = sim_env.sim
    await initial_sync_job(sim_env.services, Progress.detached())
    _random_changes(sim, random.Random(4), 20)
    before = await _cursors(sim_env)
    sim.inject_fault(500, count=50, path_contains="/items")
    with pytest.raises(MediaServerError):
        await sync_watch_history(sim_env.services, full=False)
    sim.faults.clear()
    assert await _cursors(sim_env) == before
    await sync_watch_history(sim_env.services, full=False)
    after_delta = await _rows(sim_env)
    await sync_watch_history(sim_env.services, full=True)
    assert after_delta == await _rows(sim_env)
