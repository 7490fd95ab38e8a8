"""Outside software, installed as dev dependencies, talking to the simulator over HTTP the way it talks to
real servers: the official ``jellyfin-apiclient-python``, ``aiojellyfin``, ``jellyfin-api-client`` (attrs models
generated from Jellyfin's OpenAPI) and Emby's generated SDK ``embyclient``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from providers.simulator import Simulator, serve_simulator, synthetic_catalog


@dataclass
class Served:
    sim: Simulator
    url: str  # the server's base URL (Emby's with /emby)

    @property
    def key(self) -> str:
        return self.sim.admin_api_key

    def user_id(self, name: str) -> str:
        return self.sim.user(name).id

    def ids(self, item_type: str) -> list[str]:
        return [i.id for i in self.sim.items.values() if i.type == item_type and i.source_id is None]


async def serve(flavor: str, tmp_path: Path, emby_version: str = "4.8") -> AsyncIterator[Served]:
    sim = Simulator(
        flavor,
        catalog=synthetic_catalog(24, 3, seed=5),
        users=2,
        media_root=tmp_path / "media",
        scan_duration_s=0.01,
        emby_version=emby_version,
    )
    sim.play("alice", next(i.id for i in sim.items.values() if i.type == "Movie"), 0.4)
    async with serve_simulator(sim) as url:
        yield Served(sim, url + ("/emby" if flavor == "emby" else ""))


@pytest.fixture
async def jellyfin(tmp_path: Path) -> AsyncIterator[Served]:
    async for served in serve("jellyfin", tmp_path):
        yield served


@pytest.fixture(params=["4.8", "4.9"])
async def emby(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Served]:
    async for served in serve("emby", tmp_path, request.param):
        yield served
