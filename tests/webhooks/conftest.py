"""A running Marquee app (no worker) for the webhook receiver tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from sidecar.app import create_app
from sidecar.services import QUEUE_NAME, Services
from sidecar.settings import Settings
from tests.servers import serve

SECRET = "test-webhook-secret"


@dataclass
class Receiver:
    app: Starlette
    client: httpx.AsyncClient

    @property
    def services(self) -> Services:
        services: Services = self.app.state.services
        return services

    async def queued(self) -> list[str]:
        return [m.decode() for m in await self.services.redis.zrange(QUEUE_NAME, 0, -1)]


@pytest.fixture
async def receiver(settings: Settings, clean_db: AsyncEngine, clean_redis: str) -> AsyncIterator[Receiver]:
    app = create_app(settings, run_worker=False)
    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=10) as client:
        yield Receiver(app, client)
