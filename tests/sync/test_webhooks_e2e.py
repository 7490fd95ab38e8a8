"""Webhooks end to end: the simulator posts real webhooks to a running Marquee with its worker."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from sqlalchemy import text

from sidecar.app import create_app
from sidecar.jobs.progress import Progress
from sidecar.jobs.sync_jobs import initial_sync_job, sync_watch_history_job
from sidecar.jobs.worker import stop_worker
from sidecar.services import Services
from sidecar.sync import state
from sidecar.webhooks.enqueue import enqueue_event
from sidecar.webhooks.sweeper import on_worker_start
from tests.servers import free_port, serve
from tests.sync.conftest import SimEnv, same_state, sync_worker

# sidecar/jobs/progress.py (foundation) flushes with AsyncSession.execute, which sqlmodel deprecates; under
# filterwarnings=error every tracked job run by a worker would fail at its first progress flush.
pytestmark = pytest.mark.filterwarnings("ignore:\\s*.*You probably want to use `session.exec\\(\\)`:DeprecationWarning")


async def _wait_for(predicate: Any, timeout_s: float = 15.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def _scalar(services: Services, sql: str) -> Any:
    async with services.engine.connect() as conn:
        return (await conn.execute(text(sql))).scalar_one()


def _hook_url(env: SimEnv, base: str) -> str:
    return f"{base}/webhooks/{env.sim.flavor}?token={env.settings.secret_value('webhook_secret')}"


@pytest.mark.parametrize("flavor", ["jellyfin", "emby"])
async def test_first_start_syncs_then_playback_stop_lands_within_seconds(sim_env: SimEnv, flavor: str) -> None:
    services = sim_env.services
    app = create_app(sim_env.settings, run_worker=False)
    worker = sync_worker(services, stages=sim_env.stages, burst=False, startup_hooks=[on_worker_start])
    worker_task = asyncio.create_task(worker.async_run())
    try:
        await _first_start_then_playback(sim_env, app, services)
    finally:
        await stop_worker(worker, worker_task)


async def _first_start_then_playback(sim_env: SimEnv, app: Any, services: Services) -> None:
    sim = sim_env.sim
    async with serve(app) as base:

        async def synced() -> bool:
            return await state.has_initial_sync(services.engine)

        await _wait_for(synced, 30, "the initial sync queued at first start")
        sim.webhooks.add_target(_hook_url(sim_env, base))
        alice = sim_env.user_id("alice")
        movie = next(i for i in sim.items.values() if i.type == "Movie" and (alice, i.id) not in sim_env.sim_truth())
        episode = next(
            i for i in sim.items.values() if i.type == "Episode" and (alice, i.id) not in sim_env.sim_truth()
        )
        started = time.monotonic()
        sim.play("alice", movie.id, fraction=1.0)
        sim.play("alice", episode.id, fraction=0.5)

        async def applied() -> bool:
            rows = await sim_env.watch_rows()
            truth = sim_env.sim_truth()
            return all(k in rows and same_state(rows[k], truth[k]) for k in ((alice, movie.id), (alice, episode.id)))

        await _wait_for(applied, 15, "the webhook to reach the database")
        elapsed = time.monotonic() - started
        assert elapsed < 10
        assert all(d.status in (200, 202) for d in sim.webhooks.sent), sim.webhooks.sent
        rows = await sim_env.watch_rows()
        assert rows[(alice, movie.id)]["played"] is True
        assert rows[(alice, episode.id)]["position_ticks"] > 0
        series_row = rows[(alice, episode.series_id or "")]
        assert series_row["kind"] == "Series"
        kinds = await _scalar(services, "SELECT string_agg(DISTINCT kind, ',' ORDER BY kind) FROM play_event")
        assert set(kinds.split(",")) <= {"start", "stop"}
        plays = await _scalar(
            services,
            "SELECT string_agg(i.provider_id, ',') FROM play_event pe JOIN item i ON i.id = pe.item_id"
            " WHERE pe.completed",
        )
        assert plays == movie.id  # the film played to the end counts once; the half-watched episode not at all

        async def followed_up() -> bool:
            return {frozenset({"movies"}), frozenset({"series"})} <= {m for _, m in sim_env.follow_ups} or any(
                m == frozenset({"movies", "series"}) for _, m in sim_env.follow_ups
            )

        await _wait_for(followed_up, 10, "the per-user follow-up")


async def test_hundred_webhooks_while_the_worker_is_down_are_applied_once(sim_env: SimEnv) -> None:
    sim = sim_env.sim
    services = sim_env.services
    await initial_sync_job(services, Progress.detached())
    synced = sim_env.sim_truth()
    app = create_app(sim_env.settings, run_worker=False)
    async with serve(app) as base:
        sim.webhooks.add_target(_hook_url(sim_env, base))
        movies = [i.id for i in sim.items.values() if i.type == "Movie"]
        users = ["alice", "bob"]
        for n in range(100):
            user, movie = users[n % 2], movies[(n // 2) % len(movies)]
            if n % 4 < 2:
                sim.mark_played(user, movie, played=(n // 4) % 2 == 0)
            else:
                sim.set_favorite(user, movie, favorite=(n // 4) % 2 == 1)
        await sim.webhooks.drain()
    assert [d.status for d in sim.webhooks.sent] == [202] * 100
    assert await _scalar(services, "SELECT count(*) FROM webhook_event WHERE status = 'pending'") == 100
    final = sim_env.sim_truth()
    changed = sum(1 for pair in synced.keys() | final.keys() if synced.get(pair) != final.get(pair))
    assert 0 < changed < 100  # each event names its own (user, movie); some set what was already so

    for _ in range(2):  # the second round re-enqueues every event, as a confused sweeper would
        worker = sync_worker(services, stages=sim_env.stages, burst=True)
        await asyncio.wait_for(worker.async_run(), 60)
        await worker.close()
        assert await _scalar(services, "SELECT count(*) FROM webhook_event WHERE status = 'done'") == 100
        # An event that brings a change of the server's truth records one play event; one that sets what was
        # already so records none. Nothing is ever recorded twice.
        assert await _scalar(services, "SELECT count(*) FROM play_event") == changed
        assert await _scalar(services, "SELECT count(DISTINCT webhook_event_id) FROM play_event") == changed
        async with services.engine.connect() as conn:
            ids = [r[0] for r in await conn.execute(text("SELECT id FROM webhook_event"))]
        for event_id in ids:
            await enqueue_event(services.redis, event_id)

    rows = await sim_env.watch_rows()
    truth = sim_env.sim_truth()
    plain = {k: v for k, v in rows.items() if v["kind"] != "Series"}
    assert set(plain) == set(truth)
    assert all(same_state(plain[k], truth[k]) for k in truth)
    assert 2 <= len(sim_env.follow_ups) < 20, "a burst collapses into a few follow-ups per user"


async def test_dropped_webhook_is_caught_by_reconciliation(sim_env: SimEnv) -> None:
    sim = sim_env.sim
    services = sim_env.services
    await initial_sync_job(services, Progress.detached())
    sim.webhooks.add_target(f"http://127.0.0.1:{free_port()}/webhooks/jellyfin")  # nobody listens: dropped
    bob = sim_env.user_id("bob")
    movie = next(i for i in sim.items.values() if i.type == "Movie" and (bob, i.id) not in sim_env.sim_truth())
    sim.play("bob", movie.id, fraction=1.0)
    await sim.webhooks.drain()
    assert all(d.status is None for d in sim.webhooks.sent)
    assert (bob, movie.id) not in await sim_env.watch_rows()

    await sync_watch_history_job(services, Progress.detached())
    row = (await sim_env.watch_rows())[(bob, movie.id)]
    assert same_state(row, sim_env.sim_truth()[(bob, movie.id)])


async def test_pending_events_left_by_a_redis_outage_are_swept(sim_env: SimEnv) -> None:
    from arq.connections import ArqRedis

    sim = sim_env.sim
    services = sim_env.services
    await initial_sync_job(services, Progress.detached())
    app = create_app(sim_env.settings, run_worker=False)
    async with serve(app) as base:
        app_services: Services = app.state.services
        real = app_services.redis
        app_services.redis = ArqRedis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.2)
        try:
            sim.webhooks.add_target(_hook_url(sim_env, base))
            movie = next(i for i in sim.items.values() if i.type == "Movie")
            sim.set_favorite("alice", movie.id, True)
            await sim.webhooks.drain()
        finally:
            await app_services.redis.aclose()
            app_services.redis = real
    assert [d.status for d in sim.webhooks.sent] == [202]
    worker = sync_worker(services, stages=sim_env.stages, burst=True, startup_hooks=[on_worker_start])
    await asyncio.wait_for(worker.async_run(), 60)
    await worker.close()
    assert await _scalar(services, "SELECT status FROM webhook_event") == "done"
    assert (await sim_env.watch_rows())[(sim_env.user_id("alice"), movie.id)]["is_favorite"] is True


@pytest.mark.parametrize("flavor", ["jellyfin", "emby"])
async def test_library_events_add_and_remove_items(sim_env: SimEnv, flavor: str) -> None:
    from providers.simulator import CatalogMovie

    sim = sim_env.sim
    services = sim_env.services
    await initial_sync_job(services, Progress.detached())
    app = create_app(sim_env.settings, run_worker=False)
    async with serve(app) as base:
        sim.webhooks.add_target(_hook_url(sim_env, base))
        added = sim.add_movie(CatalogMovie("bench-new", "The Night Ferry", 2024, ["Drama"], tmdb_id="990001"))
        gone = next(i for i in sim.items.values() if i.type == "Movie" and i.id != added.id)
        sim.remove_item(gone.id)
        await sim.webhooks.drain()
    worker = sync_worker(services, stages=sim_env.stages, burst=True)
    await asyncio.wait_for(worker.async_run(), 60)
    await worker.close()
    async with services.engine.connect() as conn:
        rows = {
            r.provider_id: r
            for r in await conn.execute(
                text("SELECT provider_id, name, gone_at, library_id FROM item WHERE provider_id = ANY(:p)"),
                {"p": [added.id, gone.id]},
            )
        }
        queued = [m.decode() for m in await services.redis.zrange("marquee:queue", 0, -1)]
    assert rows[added.id].name == "The Night Ferry" and rows[added.id].gone_at is None
    assert rows[added.id].library_id is not None
    assert rows[gone.id].gone_at is not None
    assert await _scalar(services, "SELECT count(*) FROM webhook_event WHERE status <> 'done'") == 0
    assert queued == [] or all(q.startswith("generate-") for q in queued)


@pytest.mark.parametrize("flavor", ["jellyfin", "emby"])
async def test_copies_announced_by_a_scan_are_settled_without_asking_the_server(sim_env: SimEnv, flavor: str) -> None:
    """A scan of an AI Picks library makes the server announce each copy it adds or drops; those are settled
    at ingest: no job, no round trip to the server."""
    from providers.simulator import CatalogMovie

    sim = sim_env.sim
    services = sim_env.services
    await initial_sync_job(services, Progress.detached())
    source = next(i for i in sim.items.values() if i.type == "Movie" and i.provider_ids.get("Tmdb"))
    app = create_app(sim_env.settings, run_worker=False)
    async with serve(app) as base:
        sim.webhooks.add_target(_hook_url(sim_env, base))
        copy = sim.add_movie(
            CatalogMovie("copy-1", source.name, source.year, list(source.genres), tmdb_id=source.provider_ids["Tmdb"])
        )
        sim.remove_item(copy.id)  # the next republish drops it again

        async def both_stored() -> bool:
            return await _scalar(services, "SELECT count(*) FROM webhook_event") == 2

        await _wait_for(both_stored, 15, "the copy's two events")
    # Settled as they were stored: no job queued, nothing asked of the server.
    queued = [m.decode() for m in await services.redis.zrange("marquee:queue", 0, -1)]
    assert not [q for q in queued if q.startswith("webhook:")], queued
    async with services.engine.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT event_type, status, error FROM webhook_event WHERE item_provider_id = :p ORDER BY id"),
                {"p": copy.id},
            )
        ).all()
    assert [(r.event_type, r.status) for r in rows] == [("item.added", "done"), ("item.deleted", "done")]
    assert "copy of a title" in (rows[0].error or "") and "not an item Marquee holds" in (rows[1].error or "")
    assert await _scalar(services, f"SELECT count(*) FROM item WHERE provider_id = '{copy.id}'") == 0
