from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sidecar.services import Services
from tests.publish.simulated import World, simulated_world


@pytest.fixture(params=["jellyfin", "emby"])
async def world(request: pytest.FixtureRequest, services: Services, tmp_path: Path) -> AsyncIterator[World]:
    async with simulated_world(services, request.param, tmp_path) as built:
        yield built
