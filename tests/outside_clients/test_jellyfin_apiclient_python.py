"""The official ``jellyfin-apiclient-python`` (what Jellyfin's Kodi add-on and others build on): users, libraries,
items with fields, user data, played and favourite marks, playlists, collections, images and a library scan."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest

from providers.simulator.images import placeholder_png
from tests.outside_clients.conftest import Served

apiclient = pytest.importorskip("jellyfin_apiclient_python")


def exercise(served: Served, media_dir: str) -> dict[str, Any]:
    client = apiclient.JellyfinClient()
    client.config.app("outside-client-test", "0.1.0", "ci-box", "ci-official")
    client.config.data["auth.ssl"] = False
    server = {"AccessToken": served.key, "address": served.url, "UserId": served.user_id("alice")}
    client.authenticate({"Servers": [server]}, discover=False)
    api = client.jellyfin
    seen: dict[str, Any] = {"users": api.get_users(), "alice": api.get_user(served.user_id("alice"))}
    seen["media_folders"] = api.get_media_folders()
    api.add_media_library("Client library", "movies", [media_dir], refreshLibrary=False)
    seen["virtual_folders"] = api.virtual_folders()
    seen["items"] = api.user_items(
        params={
            "Recursive": True,
            "IncludeItemTypes": "Movie",
            "Fields": "ProviderIds,Genres,MediaSources,Overview",
            "SortBy": "SeriesSortName,SortName",
            "Limit": 5,
        }
    )
    first = seen["items"]["Items"][0]["Id"]
    seen["item"] = api.get_item(first)
    api.item_played(first, True)
    api.favorite(first, True)
    seen["user_data"] = api.get_userdata_for_item(first)
    series = api.user_items(params={"Recursive": True, "IncludeItemTypes": "Series"})["Items"][0]["Id"]
    seen["seasons"] = api.get_seasons(series)
    seen["episodes"] = api.get_episodes(series, season_id=seen["seasons"]["Items"][0]["Id"])
    seen["genres"] = api.get_genres()
    movies = served.ids("Movie")
    playlist = api.new_playlist("Official picks", movies[:3])
    seen["playlist"] = api.get_playlist(playlist["Id"])
    seen["playlist_items"] = api.get_playlist_items(playlist["Id"])
    seen["collection"] = api.new_collection("Official set", movies[:2])
    seen["images"] = api.get_images(first)
    # set_item_image's own `image_type not in ImageType` check fails on Python 3.11 (a str in an Enum class), so
    # send exactly what it sends after that check: its base64 bytes with the image's content type.
    data, mimetype = api._coerce_image_bytes(base64.b64encode(placeholder_png("official", "Primary")))
    api.items(
        f"/{first}/Images/Primary",
        action="POST",
        data=data.decode(),
        headers={"Accept": "*/*", "Content-type": mimetype},
    )
    api.refresh_library()
    seen["configuration"] = api.get_system_info()
    client.stop()
    return seen


async def test_official_client_round_trip(jellyfin: Served, tmp_path: Any) -> None:
    sim = jellyfin.sim
    media = tmp_path / "client-library"
    media.mkdir()
    seen = await asyncio.to_thread(exercise, jellyfin, str(media))
    await sim.wait_scans()
    assert {u["Name"] for u in seen["users"]} == {"admin", "alice", "bob"} and seen["alice"]["Name"] == "alice"
    assert seen["media_folders"]["TotalRecordCount"] == 2
    assert "Client library" in {f["Name"] for f in seen["virtual_folders"]}
    assert sim.library_by_name("Client library").locations == [str(media)]
    first = seen["items"]["Items"][0]
    assert seen["items"]["TotalRecordCount"] == 24 and first["MediaSources"] and first["ProviderIds"]
    assert seen["item"]["Id"] == first["Id"]
    assert seen["user_data"]["Played"] is True and seen["user_data"]["IsFavorite"] is True
    assert seen["episodes"]["Items"] and seen["genres"]["TotalRecordCount"] > 0
    movies = jellyfin.ids("Movie")
    assert seen["playlist"]["ItemIds"] == movies[:3] and seen["playlist"]["OpenAccess"] is True
    assert [i["Id"] for i in seen["playlist_items"]["Items"]] == movies[:3]
    assert len(sim.item(seen["collection"]["Id"]).children) == 2
    assert {i["ImageType"] for i in seen["images"]} == {"Primary", "Backdrop"}
    assert sim.custom_images[(first["Id"], "primary")][0] == placeholder_png("official", "Primary")
    assert seen["configuration"]["ServerName"] == sim.server_name
