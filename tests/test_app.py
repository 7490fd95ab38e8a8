"""The web app on a real uvicorn, with real PostgreSQL and Redis."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from sidecar.app import create_app
from sidecar.settings import Settings
from tests.servers import serve


async def test_healthz_ok_with_worker(settings: Settings, clean_db: AsyncEngine, clean_redis: str) -> None:
    app = create_app(settings, run_worker=True)
    async with serve(app) as base, httpx.AsyncClient(base_url=base) as client:
        body: dict[str, str] = {}
        for _ in range(100):  # the worker's first heartbeat arrives within a moment of starting
            response = await client.get("/healthz")
            body = response.json()
            if response.status_code == 200:
                break
            await asyncio.sleep(0.1)
        assert response.status_code == 200, body
        assert body["database"] == body["redis"] == body["worker"] == "ok"
        assert body["version"]


async def test_healthz_503_without_worker(settings: Settings, clean_db: AsyncEngine, clean_redis: str) -> None:
    app = create_app(settings, run_worker=False)
    async with serve(app) as base, httpx.AsyncClient(base_url=base) as client:
        response = await client.get("/healthz")
        assert response.status_code == 503
        assert response.json()["worker"] == "no heartbeat"
        assert response.json()["database"] == "ok"


async def test_home_says_what_to_configure(settings: Settings, clean_db: AsyncEngine, clean_redis: str) -> None:
    app = create_app(settings, run_worker=False)
    async with serve(app) as base, httpx.AsyncClient(base_url=base) as client:
        page = await client.get("/")
        assert page.status_code == 200
        assert "MARQUEE_MEDIA_SERVER_URL" in page.text
        assert settings.secret_value("webhook_secret") not in page.text
        missing = await client.get("/no-such-page")
        assert missing.status_code == 404
        assert "<h1>404</h1>" in missing.text
