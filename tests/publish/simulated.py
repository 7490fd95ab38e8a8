"""A simulated Jellyfin/Emby over real HTTP, its catalogue and users mirrored into Marquee's tables.

Another helper's sync fills ``item``/``app_user`` for real; publishing tests insert the rows they need
straight from the provider's view of the simulator (``benchmarks.simulated_world``, which the publishing
benchmark uses too), and recommendation runs by hand.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from benchmarks.simulated_world import World, mirror, set_picks
from providers.base import MediaServer, make_media_server
from providers.simulator.catalog import synthetic_catalog
from providers.simulator.serve import serve_simulator
from providers.simulator.state import Simulator
from sidecar.services import Services

__all__ = ["World", "library_titles", "mirror", "set_picks", "simulated_world"]


@asynccontextmanager
async def simulated_world(
    services: Services,
    flavor: str,
    tmp_path: Path,
    *,
    users: Sequence[str] = ("alice", "bob", "carol"),
    movies: int = 30,
    series: int = 4,
) -> AsyncIterator[World]:
    sim = Simulator(
        flavor,  # type: ignore[arg-type]
        catalog=synthetic_catalog(movies, series),
        users=list(users),
        media_root=tmp_path / "media",
        scan_duration_s=0.02,
    )
    async with serve_simulator(sim) as url:
        server = make_media_server(flavor, url, sim.admin_api_key)  # type: ignore[arg-type]
        services.media_server = server
        world = await mirror(services, sim, server)
        yield world


async def library_titles(server: MediaServer, library_id: str, item_type: str, user_id: str | None) -> list[str]:
    """Names the server lists in a library, sorted by sort name (what a client shows), as ``user_id``."""
    return [
        item.name
        async for item in server.iter_items([item_type], parent_id=library_id, user_id=user_id, sort_by=("SortName",))
    ]
