"""A catalogue re-sync rewrites only the items that changed (one statement per page, rows sent as JSON)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text

from sidecar.jobs.progress import Progress
from sidecar.jobs.sync_jobs import sync_movies_job
from sidecar.sync.libraries import sync_libraries
from tests.sync.conftest import SimEnv


async def _rows(env: SimEnv) -> dict[str, tuple[datetime, str, list[str], float | None]]:
    async with env.services.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT provider_id, synced_at, name, genres, community_rating FROM item WHERE kind = 'Movie'")
        )
        return {str(r[0]): (r[1], r[2], r[3], r[4]) for r in rows}


async def test_only_changed_items_are_rewritten(sim_env: SimEnv) -> None:
    sim = sim_env.sim
    await sync_libraries(sim_env.services)
    first = await sync_movies_job(sim_env.services, Progress.detached())
    before = await _rows(sim_env)
    assert first["new"] == len(before) > 0
    movie = next(i for i in sim.items.values() if i.type == "Movie")
    assert before[movie.id][1:] == (movie.name, movie.genres, movie.community_rating)

    again = await sync_movies_job(sim_env.services, Progress.detached())
    assert again["new"] == 0 and again["seen"] == first["seen"]
    assert await _rows(sim_env) == before, "an unchanged item keeps its synced_at"

    movie.name = "Renamed 'quotes' \"and\" ünïcode \\ backslash"
    movie.genres = [*movie.genres, "Documentary"]
    sim.bump()
    await sync_movies_job(sim_env.services, Progress.detached())
    after = await _rows(sim_env)
    assert after[movie.id][1:3] == (movie.name, movie.genres)
    assert after[movie.id][0] > before[movie.id][0]
    moved = {pid for pid in after if after[pid][0] != before[pid][0]}
    assert moved == {movie.id}
