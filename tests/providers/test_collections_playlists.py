from __future__ import annotations

import pytest

from providers.errors import ProviderNotFound
from tests.providers.conftest import Served


async def test_collections_keep_insertion_order(served: Served) -> None:
    provider, sim = served.provider, served.sim
    movies = [i.id for i in sim.items.values() if i.type == "Movie"][:6]
    assert await provider.find_collection("Top Picks - Movies") is None
    created = await provider.create_collection("Top Picks - Movies", movies[:4])
    found = await provider.find_collection("Top Picks - Movies")
    assert found is not None and found.id == created.id and found.child_count == 4
    assert [i.id for i in await provider.collection_items(created.id)] == movies[:4]
    await provider.add_to_collection(created.id, movies[4:])
    await provider.remove_from_collection(created.id, [movies[1]])
    assert [i.id for i in await provider.collection_items(created.id)] == [movies[0], *movies[2:]]
    assert [c.name for c in await provider.list_collections()] == ["Top Picks - Movies"]
    await provider.delete_item(created.id)
    assert await provider.find_collection("Top Picks - Movies") is None


async def test_collection_display_order_is_a_field_update(served: Served) -> None:
    provider, sim = served.provider, served.sim
    movies = [i for i in sim.items.values() if i.type == "Movie"][:3]
    collection = await provider.create_collection("Sorted", [m.id for m in movies])
    await provider.update_item(collection.id, {"DisplayOrder": "SortName"})
    names = [i.name for i in await provider.collection_items(collection.id)]
    assert names == sorted(names, key=lambda n: sim.find_by_name(n, "Movie").sort_name)


async def test_playlists_entries_order_and_removal(served: Served) -> None:
    provider, sim = served.provider, served.sim
    alice = served.user_id("alice")
    movies = [i.id for i in sim.items.values() if i.type == "Movie"][:5]
    playlist = await provider.create_playlist("Top Picks", movies[:3], alice)
    assert (await provider.find_playlist("Top Picks", alice)) is not None
    await provider.add_to_playlist(playlist.id, movies[3:], alice)
    entries = await provider.playlist_entries(playlist.id, alice)
    assert [e.item_id for e in entries] == movies
    assert len({e.entry_id for e in entries}) == 5 and all(e.entry_id not in movies for e in entries)
    await provider.remove_from_playlist(playlist.id, [entries[0].entry_id, entries[2].entry_id])
    assert [e.item_id for e in await provider.playlist_entries(playlist.id, alice)] == [movies[1], *movies[3:]]
    assert [p.name for p in await provider.list_playlists(alice)] == ["Top Picks"]
    with pytest.raises(ProviderNotFound):
        await provider.playlist_entries("feed" * 8 if sim.flavor == "jellyfin" else "99999", alice)


async def test_a_long_playlist_is_created_in_chunks(served: Served) -> None:
    provider, sim = served.provider, served.sim
    pool = [i.id for i in sim.items.values() if i.type in ("Episode", "Movie")]
    episodes = (pool * 2)[:130]  # a playlist may hold an item twice
    playlist = await provider.create_playlist("Binge", episodes, served.user_id("bob"))
    assert [e.item_id for e in await provider.playlist_entries(playlist.id)] == episodes
