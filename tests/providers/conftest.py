"""A simulator of each flavour served over real HTTP, and the provider pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from providers.mediabrowser import MediaBrowserServer, make_client
from providers.simulator import Simulator, serve_simulator, synthetic_catalog


@dataclass
class Served:
    sim: Simulator
    url: str
    provider: MediaBrowserServer

    def user_id(self, name: str) -> str:
        return self.sim.user(name).id


@pytest.fixture(params=["jellyfin", "emby"])
async def served(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Served]:
    sim = Simulator(
        request.param,
        catalog=synthetic_catalog(40, 3, seed=3),
        users=2,
        media_root=tmp_path / "media",
        scan_duration_s=0.02,
    )
    async with serve_simulator(sim) as url:
        provider = make_client(request.param, url, sim.admin_api_key, retries=2, backoff=0.01, timeout=5)
        try:
            yield Served(sim, url, provider)
        finally:
            await provider.aclose()
