"""Emby's own generated SDK, ``embyclient`` 4.9: its swagger models check enum members and types as they
deserialise, so every answer below parsed as a real Emby's would. Run against the Emby 4.8 and 4.9 simulators;
4.9 has only ``/Users/Query`` and ``/Library/VirtualFolders/Query``, 4.8 only the bare lists (read with the
SDK's own deserialiser)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.outside_clients.conftest import Served

emby_client = pytest.importorskip("emby_client")

from emby_client import ApiClient, Configuration  # noqa: E402
from emby_client.api import (  # noqa: E402
    collection_service_api,
    configuration_service_api,
    display_preferences_service_api,
    genres_service_api,
    image_service_api,
    items_service_api,
    library_structure_service_api,
    playlist_service_api,
    playstate_service_api,
    scheduled_task_service_api,
    sessions_service_api,
    studios_service_api,
    system_service_api,
    tv_shows_service_api,
    user_library_service_api,
    user_service_api,
)
from emby_client.rest import ApiException  # noqa: E402

FIELDS = "Genres,Overview,ProviderIds,MediaSources,People,Studios,SortName,DateCreated,Path"


def bare_list(api: ApiClient, path: str, model: str) -> Any:
    """GET one of the bare-array routes the 4.9 SDK no longer has, deserialised by the SDK itself."""
    return api.call_api(
        path,
        "GET",
        path_params={},
        query_params=[],
        header_params={"Accept": "application/json"},
        auth_settings=["apikeyauth"],
        response_type=f"list[{model}]",
        _return_http_data_only=True,
    )


def exercise(served: Served) -> dict[str, Any]:
    config = Configuration()
    config.host = served.url
    config.api_key["api_key"] = served.key
    api = ApiClient(config)
    seen: dict[str, Any] = {}
    alice = served.user_id("alice")

    seen["info"] = system_service_api.SystemServiceApi(api).get_system_info()
    users = user_service_api.UserServiceApi(api)
    structure = library_structure_service_api.LibraryStructureServiceApi(api)
    if served.sim.emby_version == "4.9":
        seen["users"] = users.get_users_query().items
        seen["folders"] = structure.get_library_virtualfolders_query().items
        try:
            bare_list(api, "/Users", "UserDto")
        except ApiException as refused:
            seen["bare_users_status"] = refused.status
    else:
        seen["users"] = bare_list(api, "/Users", "UserDto")
        seen["folders"] = bare_list(api, "/Library/VirtualFolders", "VirtualFolderInfo")
    seen["alice"] = users.get_users_by_id(alice)

    items = items_service_api.ItemsServiceApi(api)
    movies = items.get_users_by_userid_items(
        alice, recursive=True, include_item_types="Movie", fields=FIELDS, sort_by="SortName", limit=10
    )
    seen["movies"] = movies
    first = movies.items[0]
    library = user_library_service_api.UserLibraryServiceApi(api)
    seen["item"] = library.get_users_by_userid_items_by_id(alice, first.id)
    seen["latest"] = library.get_users_by_userid_items_latest(alice, limit=5)
    series = items.get_users_by_userid_items(alice, recursive=True, include_item_types="Series").items[0]
    seen["series"] = library.get_users_by_userid_items_by_id(alice, series.id)
    shows = tv_shows_service_api.TvShowsServiceApi(api)
    seen["seasons"] = shows.get_shows_by_id_seasons(alice, series.id)
    raw = shows.get_shows_by_id_episodes(
        series.id, user_id=alice, season_id=seen["seasons"].items[0].id, _preload_content=False
    )  # the SDK declares no response type for episodes: deserialise them as the QueryResult Emby documents
    seen["episodes"] = api.deserialize(raw, "QueryResultBaseItemDto")

    playstate = playstate_service_api.PlaystateServiceApi(api)
    seen["played"] = playstate.post_users_by_userid_playeditems_by_id(alice, first.id)
    seen["unplayed"] = playstate.post_users_by_userid_playeditems_by_id_delete(alice, first.id)
    seen["favourite"] = library.post_users_by_userid_favoriteitems_by_id(alice, first.id)

    ids = served.ids("Movie")[:4]
    playlists = playlist_service_api.PlaylistServiceApi(api)
    created = playlists.post_playlists(name="SDK picks", ids=",".join(ids[:2]), media_type="Video")
    seen["playlist"] = created
    seen["playlist_add"] = playlists.post_playlists_by_id_items(ids[2], created.id, user_id=alice)
    seen["entries"] = playlists.get_playlists_by_id_items(created.id, user_id=alice)
    collections = collection_service_api.CollectionServiceApi(api)
    collection = collections.post_collections(name="SDK set", ids=ids[0])
    collections.post_collections_by_id_items(ids[1], collection.id)
    seen["collection"] = collection

    seen["images"] = image_service_api.ImageServiceApi(api).get_items_by_id_images(first.id)
    tasks = scheduled_task_service_api.ScheduledTaskServiceApi(api)
    seen["tasks"] = tasks.get_scheduledtasks(is_hidden=False)
    scan = next(t for t in seen["tasks"] if t.key == "RefreshLibrary")
    tasks.post_scheduledtasks_running_by_id(scan.id)
    seen["configuration"] = configuration_service_api.ConfigurationServiceApi(api).get_system_configuration()
    seen["genres"] = genres_service_api.GenresServiceApi(api).get_genres(user_id=alice)
    seen["studios"] = studios_service_api.StudiosServiceApi(api).get_studios(user_id=alice)
    seen["sessions"] = sessions_service_api.SessionsServiceApi(api).get_sessions()
    prefs = display_preferences_service_api.DisplayPreferencesServiceApi(api)
    from emby_client.models import DisplayPreferences

    prefs.post_displaypreferences_by_displaypreferencesid(
        DisplayPreferences(sort_by="DateCreated", sort_order="Descending", custom_prefs={"a": "b"}), alice, "home"
    )
    seen["prefs"] = prefs.get_displaypreferences_by_id("home", alice, "emby")
    users.delete_users_by_id(served.user_id("bob"))
    seen["after_delete"] = {u.name for u in (users.get_users_query().items if "bare_users_status" in seen else [])}
    api.rest_client.pool_manager.clear()
    return seen


async def test_embyclient_parses_every_answer(emby: Served) -> None:
    sim = emby.sim
    sim.play_start("bob", emby.ids("Movie")[5])
    seen = await asyncio.to_thread(exercise, emby)
    await sim.wait_scans()
    assert seen["info"].version == sim.version
    assert {u.name for u in seen["users"]} == {"admin", "alice", "bob"}
    assert [f.name for f in seen["folders"]] == ["Movies", "Shows"]
    if sim.emby_version == "4.9":
        assert seen["bare_users_status"] == 403
        assert all(f.id == f.item_id and len(f.guid) == 32 for f in seen["folders"])
        assert seen["after_delete"] == {"admin", "alice"}
    else:
        assert "bob" not in {u.name for u in sim.users.values()}
    assert seen["alice"].policy.is_administrator is False
    movies = seen["movies"]
    assert movies.total_record_count == 24 and len(movies.items) == 10
    assert movies.items[0].media_sources[0].media_streams and movies.items[0].provider_ids["Imdb"].startswith("tt")
    assert seen["item"].name == movies.items[0].name
    assert 0 < len(seen["latest"]) <= 5
    assert seen["series"].status in ("Ended", "Continuing") and seen["series"].air_days
    assert seen["episodes"].items and all(e.season_id == seen["seasons"].items[0].id for e in seen["episodes"].items)
    assert seen["playlist"].item_added_count == 2 and seen["playlist_add"].item_added_count == 1
    assert seen["played"].played is True and seen["unplayed"].played is False and seen["favourite"].is_favorite
    assert [e.id for e in seen["entries"].items] == emby.ids("Movie")[:3]
    assert len(sim.item(seen["collection"].id).children) == 2
    assert {i.image_type for i in seen["images"]} == {"Primary", "Backdrop"}
    assert seen["configuration"].server_name == sim.server_name
    assert seen["genres"].total_record_count > 0 and seen["studios"].total_record_count > 0
    assert [s.user_name for s in seen["sessions"]] == ["bob"]
    assert seen["prefs"].sort_by == "DateCreated" and seen["prefs"].custom_prefs == {"a": "b"}
