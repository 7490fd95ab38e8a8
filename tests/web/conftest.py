"""The web app on real uvicorn, logged in against a real simulator over HTTP, on real Postgres and Redis.

``web`` serves a Jellyfin simulator with users alice (not admin), bob (not admin) and admin, and
Marquee pointed at it. Rows the pages read (items, picks, top picks, ...) are inserted directly.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from providers.simulator import Simulator, serve_simulator, synthetic_catalog
from sidecar.app import create_app
from sidecar.db.models import AppUser, Item, MediaServer, Recommendation, RecommendationRun
from sidecar.services import Services
from sidecar.settings import Settings
from tests.servers import serve

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Web:
    base: str
    sim: Simulator
    settings: Settings
    services: Services
    server_row: int
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    def password(self, name: str) -> str:
        return self.sim.user(name).password

    def client(self) -> httpx.AsyncClient:
        client = httpx.AsyncClient(base_url=self.base, timeout=10)
        self.clients.append(client)
        return client

    async def login(self, name: str) -> httpx.AsyncClient:
        """A client logged in through the login form (as a browser would)."""
        client = self.client()
        await form_login(client, name, self.password(name))
        return client

    async def api_login(self, name: str) -> tuple[httpx.AsyncClient, str]:
        client = self.client()
        response = await client.post("/api/auth/login", json={"name": name, "password": self.password(name)})
        assert response.status_code == 200, response.text
        return client, str(response.json()["csrf_token"])

    async def user_row(self, name: str) -> AppUser:
        """The app_user of a simulator user (created as login would, when missing)."""
        from sqlmodel import select

        sim_user = self.sim.user(name)
        async with self.services.sessions() as session:
            row = (await session.exec(select(AppUser).where(AppUser.provider_id == sim_user.id))).first()
            if row is None:
                row = AppUser(
                    server_id=self.server_row, provider_id=sim_user.id, name=sim_user.name, is_admin=sim_user.is_admin
                )
                session.add(row)
                await session.commit()
                await session.refresh(row)
            return row

    async def add_item(self, name: str, kind: str = "Movie", **fields: Any) -> Item:
        async with self.services.sessions() as session:
            count = len(name) + int(datetime.now(UTC).timestamp() * 1e6) % 1_000_000
            item = Item(
                server_id=self.server_row,
                provider_id=fields.pop("provider_id", f"p-{name}-{count}"),
                kind=kind,
                name=name,
                **fields,
            )
            session.add(item)
            await session.commit()
            await session.refresh(item)
            return item

    async def add_picks(self, user: AppUser, items: list[Item], media_type: str = "movies") -> RecommendationRun:
        async with self.services.sessions() as session:
            now = datetime.now(UTC)
            run = RecommendationRun(
                user_id=user.id,
                media_type=media_type,
                status="done",
                started_at=now - timedelta(seconds=5),
                finished_at=now,
            )
            session.add(run)
            await session.flush()
            for rank, item in enumerate(items, start=1):
                session.add(
                    Recommendation(
                        run_id=run.id,
                        user_id=user.id,
                        media_type=media_type,
                        item_id=item.id,
                        rank=rank,
                        score=1.0 / rank,
                        match_pct=95 - rank,
                        components={"taste": 0.8, "discovery": 0.2, "quality": 0.6, "variety": 0.4},
                        genre_analysis={"matching": ["Drama"], "new": ["Western"]},
                        evidence=[{"item_id": None, "title": f"Evidence for {item.name}", "similarity": 0.81}],
                        explanation=f"Because {user.name} likes slow dramas ({item.name}).",
                        explanation_source="template",
                    )
                )
            await session.commit()
            await session.refresh(run)
            return run


async def form_login(client: httpx.AsyncClient, name: str, password: str) -> httpx.Response:
    page = await client.get("/login")
    match = CSRF_INPUT.search(page.text)
    assert match, page.text
    response = await client.post(
        "/login", data={"csrf_token": match.group(1), "name": name, "password": password, "next": "/picks"}
    )
    return response


async def csrf_of(client: httpx.AsyncClient, path: str = "/picks") -> str:
    """The page's CSRF token; every form on the page must carry the same, non-empty one."""
    page = await client.get(path)
    tokens = re.findall(r'name="csrf_token" value="([^"]*)"', page.text)
    assert tokens, page.text
    assert len(set(tokens)) == 1 and tokens[0], f"forms on {path} carry different or empty tokens: {tokens}"
    return tokens[0]


@pytest.fixture
async def sim() -> AsyncIterator[tuple[Simulator, str]]:
    simulator = Simulator("jellyfin", catalog=synthetic_catalog(12, 2, seed=5), users=["alice", "bob"], seed=7)
    async with serve_simulator(simulator) as url:
        yield simulator, url


def web_settings(settings: Settings, url: str, api_key: str) -> Settings:
    return settings.model_copy(
        update={
            "media_server_type": "jellyfin",
            "media_server_url": url,
            "media_server_api_key": SecretStr(api_key),
        }
    )


@asynccontextmanager
async def running_web(settings: Settings, simulator: Simulator, url: str, *, run_worker: bool) -> AsyncIterator[Web]:
    """Marquee on real uvicorn, pointed at ``simulator`` and with its media-server row in place."""
    app = create_app(web_settings(settings, url, simulator.admin_api_key), run_worker=run_worker)
    async with serve(app) as base:
        services: Services = app.state.services
        async with services.sessions() as session:
            row = MediaServer(kind="jellyfin", url=url, server_id=simulator.server_id)
            session.add(row)
            await session.commit()
            await session.refresh(row)
        assert row.id is not None
        env = Web(base, simulator, app.state.settings, services, row.id)
        try:
            yield env
        finally:
            for client in env.clients:
                await client.aclose()


@pytest.fixture
async def web(
    settings: Settings, sim: tuple[Simulator, str], clean_db: AsyncEngine, clean_redis: str
) -> AsyncIterator[Web]:
    simulator, url = sim
    async with running_web(settings, simulator, url, run_worker=False) as env:
        yield env
