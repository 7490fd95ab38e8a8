"""``aiojellyfin`` (the async client Music Assistant uses): password login, libraries, typed item queries with its
default fields, playlists and their entries, decoded into its typed models."""

from __future__ import annotations

import pytest
from mashumaro.codecs.basic import BasicDecoder

from tests.outside_clients.conftest import Served

aiojellyfin = pytest.importorskip("aiojellyfin")

import aiohttp  # noqa: E402
from aiojellyfin import ItemFields, ItemType, MediaItem, MediaItems, authenticate_by_name  # noqa: E402
from aiojellyfin.builder import ItemQueryBuilder  # noqa: E402
from aiojellyfin.session import SessionConfiguration  # noqa: E402


async def test_aiojellyfin_logs_in_and_reads_items_and_playlists(jellyfin: Served) -> None:
    sim = jellyfin.sim
    movies = jellyfin.ids("Movie")
    alice = sim.user("alice")
    playlist = sim.create_playlist("Alice's evening", movies[:3], alice, "Video", True)
    async with aiohttp.ClientSession() as http:
        config = SessionConfiguration(
            session=http,
            url=jellyfin.url,
            app_name="outside-client-test",
            app_version="1.0",
            device_name="ci",
            device_id="ci-aiojellyfin",
            verify_ssl=False,
        )
        connection = await authenticate_by_name(config, "alice", alice.password)
        folders = await connection.get_media_folders()
        assert {f["Name"] for f in folders["Items"]} == {"Movies", "Shows"}

        session = connection._session  # the library's own query builder, for video items instead of music
        query = (
            ItemQueryBuilder[MediaItem]
            .create(session)
            .include_item_types(ItemType.Movie)
            .recursive(True)
            .fields(ItemFields.Overview, ItemFields.ProviderIds, ItemFields.MediaSources, ItemFields.SortName)
            .enable_userdata()
            .user_id(alice.id)
        )
        streamed = [item async for item in query.stream(page_size=5)]
        assert sorted(i["Id"] for i in streamed) == sorted(movies)
        assert all(i["MediaSources"][0]["Protocol"] == "File" for i in streamed)
        assert all("IsFavorite" in i["UserData"] for i in streamed)

        found = await connection.playlists.user_id(alice.id).request()
        assert [p["Name"] for p in found["Items"]] == ["Alice's evening"]
        fetched = await connection.get_playlist(playlist.id)
        assert fetched["Name"] == "Alice's evening"
        entries = await connection.tracks.in_playlist(playlist.id).user_id(alice.id).request()
        assert [e["Id"] for e in entries["Items"]] == movies[:3]
        raw = await session.get_json(f"/Users/{alice.id}/Items/{movies[0]}", params={})
        assert BasicDecoder(MediaItem).decode(raw)["Type"] == ItemType.Movie
        everything = await session.get_json("/Items", params={"recursive": "true", "fields": "Bogus,Genres"})
        assert BasicDecoder(MediaItems[MediaItem]).decode(everything)["TotalRecordCount"] > len(movies)
        art = connection.artwork(movies[0], "Primary", max_width=300)
        async with http.get(art) as image:
            assert image.status == 200 and image.headers["Content-Type"] == "image/png"
