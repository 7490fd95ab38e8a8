"""A simulated Jellyfin on a real uvicorn, and Marquee services pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import pytest
from arq.worker import Function
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from providers.simulator import Simulator, serve_simulator, synthetic_catalog
from sidecar.followup import FollowUpStages
from sidecar.jobs.reconnecting import ReconnectingWorker
from sidecar.jobs.registry import load_jobs, wrap
from sidecar.jobs.worker import on_shutdown, on_startup
from sidecar.services import QUEUE_NAME, Services, open_services, redis_settings
from sidecar.settings import Settings
from sidecar.sync.follow_up_requests import FOLLOW_UP_JOB

MOVIES = 80
SERIES = 3


@dataclass
class SimEnv:
    sim: Simulator
    url: str
    settings: Settings
    services: Services
    follow_ups: list[tuple[int, frozenset[str]]] = field(default_factory=list)

    @property
    def stages(self) -> FollowUpStages:
        """Follow-up stages that only record their calls in ``follow_ups`` (other features' stages —
        recommending, publishing — are not part of these tests)."""

        async def record(services: Services, user_id: int, media_types: frozenset[str], progress: Any) -> None:
            self.follow_ups.append((user_id, media_types))

        return (("record", record),)

    def user_id(self, name: str) -> str:
        return self.sim.user(name).id

    async def watch_rows(self) -> dict[tuple[str, str], dict[str, Any]]:
        """(user provider id, item provider id) → watch_state row."""
        async with self.services.engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT u.provider_id AS u, i.provider_id AS i, i.kind, ws.played, ws.play_count, ws.is_favorite,"
                    " ws.last_played_at, ws.position_ticks, ws.completion, ws.rating FROM watch_state ws"
                    " JOIN app_user u ON u.id = ws.user_id JOIN item i ON i.id = ws.item_id"
                )
            )
            return {(r.u, r.i): dict(r._mapping) for r in rows}

    def sim_truth(self) -> dict[tuple[str, str], dict[str, Any]]:
        """What the simulator holds for every non-empty (user, movie or episode) pair."""
        out: dict[tuple[str, str], dict[str, Any]] = {}
        for user in self.sim.users.values():
            for item in self.sim.items.values():
                if item.type not in ("Movie", "Episode") or item.library_id not in (
                    self.sim.movies_library.id,
                    self.sim.shows_library.id,
                ):
                    continue
                data = self.sim.get_user_data(user.id, item)
                if data.played or data.play_count or data.is_favorite or data.position_ticks or data.rating is not None:
                    out[(user.id, item.id)] = {
                        "played": data.played,
                        "play_count": data.play_count,
                        "is_favorite": data.is_favorite,
                        "position_ticks": data.position_ticks,
                        "rating": data.rating,
                        "last_played": data.last_played,
                    }
        return out


def same_state(row: dict[str, Any], truth: dict[str, Any]) -> bool:
    last = row["last_played_at"]
    want = truth["last_played"]
    same_time = (last is None and want is None) or (
        last is not None and want is not None and abs((last - want).total_seconds()) < 0.001
    )
    return same_time and all(
        row[k] == truth[k] for k in ("played", "play_count", "is_favorite", "position_ticks", "rating")
    )


def make_sim(flavor: str = "jellyfin") -> Simulator:
    return Simulator(
        flavor,  # type: ignore[arg-type]
        catalog=synthetic_catalog(movies=MOVIES, series=SERIES, seed=11),
        users=["alice", "bob"],
        seed_history=True,
        seed=5,
    )


@pytest.fixture
def flavor() -> str:
    return "jellyfin"


@pytest.fixture
async def sim_env(
    settings: Settings,
    clean_db: AsyncEngine,
    clean_redis: str,
    flavor: str,
) -> AsyncIterator[SimEnv]:
    sim = make_sim(flavor)
    async with serve_simulator(sim) as url:
        configured = settings.model_copy(
            update={
                "media_server_url": url,
                "media_server_type": flavor,
                "media_server_api_key": SecretStr(sim.admin_api_key),
            }
        )
        assert configured.database_url is not None
        services = await open_services(configured, configured.database_url.get_secret_value(), clean_redis)
        try:
            yield SimEnv(sim, url, configured, services)
        finally:
            await services.aclose()
            await sim.webhooks.aclose()


OWN_JOB_MODULES = ("sidecar.jobs.sync_jobs", "sidecar.jobs.webhook_jobs")


def own_job_functions(stages: FollowUpStages) -> list[Function]:
    """The sync and webhook jobs only, the follow-up job running ``stages``."""
    specs = [spec for spec in load_jobs().values() if spec.func.__module__ in OWN_JOB_MODULES]
    return [
        wrap(replace(spec, func=partial(spec.func, stages=stages)) if spec.name == FOLLOW_UP_JOB else spec)
        for spec in specs
    ]


def sync_worker(
    services: Services, *, burst: bool, stages: FollowUpStages, startup_hooks: list[Any] | None = None
) -> ReconnectingWorker:
    """A worker of the class ``marquee serve`` runs, running only the sync and webhook jobs: jobs of other
    features queued by ours (embeddings, recommendations) are dropped, so these tests neither load models nor
    publish libraries; the follow-up job runs ``stages`` (``SimEnv.stages`` records the calls)."""
    return ReconnectingWorker(
        functions=own_job_functions(stages),
        redis_settings=redis_settings(services.redis_url),
        queue_name=QUEUE_NAME,
        on_startup=on_startup,
        on_shutdown=on_shutdown,
        ctx={"services": services, "startup_hooks": startup_hooks or []},
        handle_signals=False,
        burst=burst,
        max_jobs=4,
        keep_result=0,
        poll_delay=0.05,
    )
