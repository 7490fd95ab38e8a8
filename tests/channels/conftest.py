"""A simulated Jellyfin or Emby over real HTTP with alice, bob and carol, Marquee's services pointed at it, the
catalogue synced for real and embedded with the hashing test double (no model to load)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from providers.base import MediaServer
from providers.simulator import Simulator, serve_simulator, synthetic_catalog
from sidecar.db.models import AppUser
from sidecar.embeddings import embed_items
from sidecar.jobs.progress import Progress
from sidecar.jobs.sync_jobs import initial_sync_job
from sidecar.media_types import MediaType
from sidecar.settings import Settings
from tests.embeddings.doubles import HashingEmbedder
from tests.sync.conftest import SimEnv


@dataclass
class ChannelWorld:
    env: SimEnv
    server: MediaServer
    users: dict[str, int]  # name -> app_user id

    @property
    def sim(self) -> Simulator:
        return self.env.sim

    def provider_user(self, name: str) -> str:
        return self.sim.user(name).id


@pytest.fixture(params=["jellyfin", "emby"])
async def world(
    request: pytest.FixtureRequest, settings: Settings, clean_db: AsyncEngine, clean_redis: str
) -> AsyncIterator[ChannelWorld]:
    from sidecar.services import open_services

    flavor = request.param
    sim = Simulator(
        flavor,
        catalog=synthetic_catalog(movies=45, series=4, seed=11),
        users=["alice", "bob", "carol"],
        seed_history=True,
        seed=5,
    )
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
            await initial_sync_job(services, Progress.detached())
            services.embedder = HashingEmbedder(64)
            for media_type in (MediaType.MOVIES, MediaType.SERIES):
                await embed_items(services, services.embedder, media_type, Progress.detached())
            async with services.sessions() as session:
                rows = (await session.exec(select(AppUser))).all()
            users = {row.name: int(row.id or 0) for row in rows}
            assert services.media_server is not None
            yield ChannelWorld(SimEnv(sim, url, configured, services), services.media_server, users)
        finally:
            await services.aclose()
            await sim.webhooks.aclose()
