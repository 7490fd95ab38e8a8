"""Applying a webhook event never asks the media server while Marquee holds a transaction or a row lock.

A wrapper around the provider looks at PostgreSQL during every call: no backend of Marquee's database may be
``idle in transaction`` (a transaction left open across the call) and none may hold a lock on
``webhook_event``. Exactly-once still holds when the same event's second job finishes while the first one
is still asking the server, and a server outage mid-way leaves the event pending for the sweeper.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from providers.errors import ProviderUnavailable
from sidecar.app import create_app
from sidecar.jobs.progress import Progress
from sidecar.jobs.sync_jobs import initial_sync_job
from sidecar.webhooks import store
from sidecar.webhooks.apply import process_event
from tests.servers import serve
from tests.sync.conftest import SimEnv

pytestmark = pytest.mark.filterwarnings("ignore:\\s*.*You probably want to use `session.exec\\(\\)`:DeprecationWarning")

_OPEN_TRANSACTIONS = text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    " AND state LIKE 'idle in transaction%'"
)
_EVENT_LOCKS = text(
    "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
    " WHERE c.relname = 'webhook_event' AND l.pid <> pg_backend_pid()"
)


class Watched:
    """The provider, checking the database's locks before each call and running ``during`` inside one."""

    def __init__(self, inner: Any, probe: AsyncEngine) -> None:
        self._inner = inner
        self._probe = probe
        self.calls: list[str] = []
        self.during: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._inner, name)
        if name == "aclose" or not asyncio.iscoroutinefunction(target):
            return target

        async def checked(*args: Any, **kwargs: Any) -> Any:
            async with self._probe.connect() as conn:
                open_tx = (await conn.execute(_OPEN_TRANSACTIONS)).scalar_one()
                locks = (await conn.execute(_EVENT_LOCKS)).scalar_one()
            assert open_tx == 0, f"{name} called with a transaction open"
            assert locks == 0, f"{name} called while webhook_event is locked"
            self.calls.append(name)
            if name in self.during:
                await self.during.pop(name)()
            return await target(*args, **kwargs)

        return checked


async def _events(env: SimEnv, act: Any) -> list[int]:
    """Play on the simulator with Marquee receiving its webhooks (no worker): the stored pending events."""
    app = create_app(env.settings, run_worker=False)
    async with serve(app) as base:
        env.sim.webhooks.add_target(
            f"{base}/webhooks/{env.sim.flavor}?token={env.settings.secret_value('webhook_secret')}"
        )
        act()
        await env.sim.webhooks.drain()
    async with env.services.engine.connect() as conn:
        rows = await conn.execute(text("SELECT id FROM webhook_event WHERE status = 'pending' ORDER BY id"))
        return [int(r[0]) for r in rows]


async def _scalar(env: SimEnv, sql: str) -> Any:
    async with env.services.engine.connect() as conn:
        return (await conn.execute(text(sql))).scalar_one()


def _unwatched_movie(env: SimEnv) -> str:
    alice = env.user_id("alice")
    truth = env.sim_truth()
    return next(i.id for i in env.sim.items.values() if i.type == "Movie" and (alice, i.id) not in truth)


@pytest.fixture
async def probe(sim_env: SimEnv) -> Any:
    engine = create_async_engine(sim_env.services.engine.url, pool_size=1)
    real = sim_env.services.media_server
    yield engine
    sim_env.services.media_server = real
    await engine.dispose()


async def test_no_transaction_or_row_lock_while_the_server_is_asked(sim_env: SimEnv, probe: AsyncEngine) -> None:
    services = sim_env.services
    await initial_sync_job(services, Progress.detached())
    movie = _unwatched_movie(sim_env)
    ids = await _events(sim_env, lambda: sim_env.sim.play("alice", movie, fraction=1.0))
    assert ids
    watched = Watched(services.media_server, probe)
    services.media_server = watched  # type: ignore[assignment]
    outcomes = [await process_event(services, event_id) for event_id in ids]
    assert "get_user_data" in watched.calls
    assert {o.status for o in outcomes} == {store.DONE}
    assert await _scalar(sim_env, "SELECT count(*) FROM webhook_event WHERE status = 'pending'") == 0
    assert await _scalar(sim_env, "SELECT count(*) FROM play_event WHERE completed") == 1


async def test_a_second_job_finishing_first_makes_the_first_a_no_op(sim_env: SimEnv, probe: AsyncEngine) -> None:
    services = sim_env.services
    await initial_sync_job(services, Progress.detached())
    movie = _unwatched_movie(sim_env)
    ids = await _events(sim_env, lambda: sim_env.sim.mark_played("alice", movie, played=True))
    assert len(ids) == 1
    event_id = ids[0]
    watched = Watched(services.media_server, probe)
    services.media_server = watched  # type: ignore[assignment]
    second: list[Any] = []

    async def run_the_duplicate() -> None:
        second.append(await process_event(services, event_id))  # a re-delivered job, while the first waits

    watched.during["get_user_data"] = run_the_duplicate
    first = await process_event(services, event_id)
    assert second[0].status == store.DONE
    assert first.status == "skipped" and first.user_id is None and not first.media_types
    assert await _scalar(sim_env, f"SELECT status FROM webhook_event WHERE id = {event_id}") == store.DONE
    assert await _scalar(sim_env, f"SELECT attempts FROM webhook_event WHERE id = {event_id}") == 1
    assert await _scalar(sim_env, "SELECT count(*) FROM play_event") == 1


async def test_a_server_outage_mid_way_leaves_the_event_for_the_sweeper(sim_env: SimEnv, probe: AsyncEngine) -> None:
    services = sim_env.services
    await initial_sync_job(services, Progress.detached())
    movie = _unwatched_movie(sim_env)
    ids = await _events(sim_env, lambda: sim_env.sim.mark_played("alice", movie, played=True))
    assert len(ids) == 1
    real = services.media_server
    watched = Watched(real, probe)
    services.media_server = watched  # type: ignore[assignment]

    async def down() -> None:
        raise ProviderUnavailable("the server went away")

    watched.during["get_user_data"] = down
    with pytest.raises(ProviderUnavailable):
        await process_event(services, ids[0])
    assert await _scalar(sim_env, "SELECT count(*) FROM play_event") == 0
    assert await store.pending_event_ids(services.engine, older_than_s=0.0) == ids  # the sweeper queues it again
    services.media_server = real
    assert (await process_event(services, ids[0])).status == store.DONE
    assert await _scalar(sim_env, "SELECT count(*) FROM play_event WHERE completed") == 1
