"""Marquee's Emby provider on Emby 4.8 and "real Emby 4.9" (``GET /Users`` refused, the ``…/Query`` routes)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest

from providers.errors import ProviderAuthError, ProviderRefused
from providers.mediabrowser import EmbyServer
from providers.simulator import Simulator, serve_simulator, synthetic_catalog


@dataclass
class Paths(httpx.AsyncBaseTransport):
    """Remembers every request's method, path and status."""

    inner: httpx.AsyncBaseTransport = field(default_factory=httpx.AsyncHTTPTransport)
    seen: list[tuple[str, str, int]] = field(default_factory=list)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        self.seen.append((request.method, request.url.path, response.status_code))
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()

    def gets(self, path: str) -> list[int]:
        return [status for method, p, status in self.seen if method == "GET" and p == path]


@dataclass
class Emby:
    sim: Simulator
    provider: EmbyServer
    paths: Paths


async def emby(version: str, *, reported: str | None = None) -> AsyncIterator[Emby]:
    sim = Simulator("emby", catalog=synthetic_catalog(20, 2), users=2, emby_version=version, scan_duration_s=0.01)
    if reported is not None:
        sim.version = reported
    paths = Paths()
    async with serve_simulator(sim) as url:
        provider = EmbyServer(url, sim.admin_api_key, retries=0, http_transport=paths)
        try:
            yield Emby(sim, provider, paths)
        finally:
            await provider.aclose()


@pytest.fixture
async def emby49() -> AsyncIterator[Emby]:
    async for served in emby("4.9"):
        yield served


async def test_real_emby_49_mode_never_asks_for_the_refused_user_list(emby49: Emby) -> None:
    sim, provider, paths = emby49.sim, emby49.provider, emby49.paths
    assert (await provider.server_info()).version == "4.9.0.33"
    users = await provider.list_users()
    assert {u.name for u in users} == {"admin", "alice", "bob"}
    assert [lib.name for lib in await provider.list_libraries()] == ["Movies", "Shows"]
    await provider.list_users()
    assert paths.gets("/emby/Users") == []
    assert paths.gets("/emby/Users/Query") == [200, 200]
    assert paths.gets("/emby/Library/VirtualFolders/Query") == [200]
    alice = sim.user("alice").id
    movies = [m.id async for m in provider.iter_items(["Movie"], user_id=alice)]
    playlist = await provider.create_playlist("Top Picks", movies[:3], alice)
    await provider.add_to_playlist(playlist.id, movies[3:5], alice)  # Emby 4.9 answers 200 with a body
    entries = await provider.playlist_entries(playlist.id, alice)
    assert [e.item_id for e in entries] == movies[:5]
    assert sim.item(playlist.id).owner_id == alice


async def test_emby_48_falls_back_once_to_the_bare_lists() -> None:
    async for served in emby("4.8"):
        provider, paths = served.provider, served.paths
        assert len(await provider.list_users()) == 3
        assert len(await provider.list_users()) == 3
        assert len(await provider.list_libraries()) == 2
        assert paths.gets("/emby/Users/Query") == [404]  # tried once, then never again
        assert paths.gets("/emby/Users") == [200, 200]
        assert paths.gets("/emby/Library/VirtualFolders/Query") == []
        assert paths.gets("/emby/Library/VirtualFolders") == [200]


async def test_an_older_emby_version_goes_straight_to_the_bare_lists() -> None:
    async for served in emby("4.8", reported="4.6.7.0"):
        assert len(await served.provider.list_users()) == 3
        assert served.paths.gets("/emby/Users/Query") == []
        assert served.paths.gets("/emby/System/Info") == [200]


async def test_a_key_refused_everywhere_gets_one_clear_message(emby49: Emby) -> None:
    emby49.sim.inject_fault(403, 1, path_contains="/Users/Query")
    with pytest.raises(ProviderRefused, match=r"refused both GET /Users/Query and GET /Users.*administrator") as caught:
        await emby49.provider.list_users()
    assert isinstance(caught.value, ProviderAuthError) and caught.value.status_code == 403
