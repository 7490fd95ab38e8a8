"""Watch-history reads (``iter_user_data``, ``resume_items(fields=())``) ask the server for no optional fields
and no images, the simulator leaves them out as the servers do, and the rows are the ones a full item
listing carries."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from providers.base import UserData
from providers.mediabrowser import EmbyServer, JellyfinServer, MediaBrowserServer
from providers.mediabrowser.connection import ITEM_FIELDS
from tests.providers.conftest import Served
from tests.providers.recording import RecordingTransport

KINDS = ["Movie", "Series", "Episode"]
EVER = datetime(1971, 1, 1, tzinfo=UTC)
OPTIONAL = {"People", "Overview", "Genres", "GenreItems", "Studios", "ProviderIds", "Path", "Tags", "Taglines"}
IMAGES = {"ImageTags", "BackdropImageTags", "SeriesPrimaryImageTag"}


@pytest.fixture
async def recorded(served: Served) -> AsyncIterator[tuple[MediaBrowserServer, RecordingTransport]]:
    transport = RecordingTransport()
    cls = JellyfinServer if served.sim.flavor == "jellyfin" else EmbyServer
    provider = cls(served.url, served.sim.admin_api_key, retries=0, timeout=5, http_transport=transport)
    try:
        yield provider, transport
    finally:
        await provider.aclose()


def _history(served: Served) -> str:
    """Alice has played, favoured, started and un-played items (movies, an episode, a series)."""
    sim = served.sim
    movies = [i.id for i in sim.items.values() if i.type == "Movie"]
    episode = next(i.id for i in sim.items.values() if i.type == "Episode")
    series = next(i.id for i in sim.items.values() if i.type == "Series")
    sim.mark_played("alice", movies[0], notify=False)
    sim.set_favorite("alice", movies[1], notify=False)
    sim.play("alice", movies[2], fraction=0.4)
    sim.mark_played("alice", movies[3], notify=False)
    sim.mark_played("alice", movies[3], played=False, notify=False)
    sim.mark_played("alice", episode, notify=False)
    sim.set_favorite("alice", series, notify=False)
    return served.user_id("alice")


async def test_user_data_reads_ask_for_no_optional_fields_or_images(
    served: Served, recorded: tuple[MediaBrowserServer, RecordingTransport]
) -> None:
    provider, transport = recorded
    alice = _history(served)
    rows = [r async for r in provider.iter_user_data(KINDS, user_id=alice, min_date_last_saved_for_user=EVER)]
    resumed = await provider.resume_items(alice, fields=(), enable_images=False)
    assert rows and resumed
    listings = transport.item_listings()
    assert len(listings) == 2
    for call in listings:
        assert "fields" not in call.params
        assert call.params["enableimages"] == "false" and call.params["enableuserdata"] == "true"
        for dto in call.body["Items"]:
            assert "UserData" in dto and "Id" in dto
            assert not (dto.keys() & (OPTIONAL | IMAGES)), dto.keys() & (OPTIONAL | IMAGES)

    # The catalogue's listings keep asking for everything Marquee stores, images included.
    transport.calls.clear()
    [i async for i in provider.iter_items(["Movie"], user_id=alice)]
    await provider.resume_items(alice)
    for call in transport.item_listings():
        assert call.params["fields"].split(",") == list(ITEM_FIELDS)
        assert "enableimages" not in call.params
        assert all(dto.keys() & IMAGES and "Genres" in dto for dto in call.body["Items"])


@pytest.mark.parametrize(
    "filters",
    [
        {"is_played": True},
        {"is_favorite": True},
        {"min_date_last_saved_for_user": EVER},
        {},
    ],
)
async def test_user_data_rows_are_those_of_the_full_listing(
    served: Served, recorded: tuple[MediaBrowserServer, RecordingTransport], filters: dict[str, object]
) -> None:
    provider, _ = recorded
    alice = _history(served)
    full: dict[str, UserData | None] = {
        i.id: i.user_data
        async for i in provider.iter_items(KINDS, user_id=alice, **filters)  # type: ignore[arg-type]
    }
    narrow = [r async for r in provider.iter_user_data(KINDS, user_id=alice, page_size=7, **filters)]  # type: ignore[arg-type]
    assert [r.id for r in narrow] == list(full)  # same items, same order
    assert {r.id: r.user_data for r in narrow} == full
    resumed = await provider.resume_items(alice)
    light = await provider.resume_items(alice, fields=(), enable_images=False)
    assert [(i.id, i.user_data) for i in light] == [(i.id, i.user_data) for i in resumed]


async def test_get_user_data_is_narrow_and_matches_the_items(
    served: Served, recorded: tuple[MediaBrowserServer, RecordingTransport]
) -> None:
    provider, transport = recorded
    alice = _history(served)
    items = [i async for i in provider.iter_items(KINDS, user_id=alice)]
    transport.calls.clear()
    found = await provider.get_user_data(alice, [i.id for i in items[:150]])  # two requests of ids
    assert found == {i.id: i.user_data for i in items[:150]}
    assert len(transport.item_listings()) == 2
    for call in transport.item_listings():
        assert "fields" not in call.params and call.params["enableimages"] == "false"
