"""The simulator is as strict as the real servers where they are strict and as lenient where they are lenient.

Jellyfin's rules are read from its source (10.10/10.11 ``Jellyfin.Api``): ASP.NET Core answers 400 when a single
GUID, boolean or number does not bind; ``CommaDelimitedCollectionModelBinder`` drops array values that do not
convert instead (its unit test ``BindModelAsync_EnumArrayQuery_BindValidOnly``). Emby 4.9's are from its SDK
(``embyclient`` 4.9) and reports of other tools' users.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from providers.simulator import Simulator, serve_simulator, synthetic_catalog
from providers.simulator.images import placeholder_png
from providers.simulator.serve import free_port
from providers.simulator.validation import ITEM_SORT_BY
from tests.servers import serve
from tests.simulator.test_webhooks import Receiver


async def client_for(flavor: str, emby_version: str = "4.8") -> AsyncIterator[tuple[Simulator, httpx.AsyncClient]]:
    sim = Simulator(flavor, catalog=synthetic_catalog(12, 2), users=2, emby_version=emby_version)
    async with serve_simulator(sim) as url:
        base = url + ("/emby" if flavor == "emby" else "")
        headers = {"X-Emby-Token" if flavor == "emby" else "Authorization": sim.admin_api_key}
        if flavor == "jellyfin":
            headers["Authorization"] = f'MediaBrowser Token="{sim.admin_api_key}"'
        async with httpx.AsyncClient(base_url=base, headers=headers) as http:
            yield sim, http


@pytest.fixture
async def jellyfin() -> AsyncIterator[tuple[Simulator, httpx.AsyncClient]]:
    async for pair in client_for("jellyfin"):
        yield pair


@pytest.fixture(params=["4.8", "4.9"])
async def emby(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Simulator, httpx.AsyncClient]]:
    async for pair in client_for("emby", request.param):
        yield pair


def problem(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["title"] == "One or more validation errors occurred." and body["status"] == 400
    return dict(body["errors"])


async def test_jellyfin_rejects_what_model_binding_rejects(jellyfin: tuple[Simulator, httpx.AsyncClient]) -> None:
    sim, http = jellyfin
    assert problem(await http.get("/Items/not-a-guid")) == {"itemId": ["The value 'not-a-guid' is not valid."]}
    assert "userId" in problem(await http.get("/Users/not-a-guid"))
    assert problem(await http.get("/Items", params={"IsPlayed": "1"})) == {"IsPlayed": ["The value '1' is not valid."]}
    assert "parentId" in problem(await http.get("/Items", params={"parentId": "42"}))
    assert "limit" in problem(await http.get("/Items", params={"limit": "ten"}))
    assert "imageType" in problem(await http.get(f"/Items/{next(iter(sim.items))}/Images/Poster"))
    assert (await http.get("/Items", params={"IsPlayed": "TRUE", "userId": sim.user("alice").id})).status_code == 200


async def test_jellyfin_drops_array_values_it_cannot_bind(jellyfin: tuple[Simulator, httpx.AsyncClient]) -> None:
    _sim, http = jellyfin
    everything = (await http.get("/Items", params={"Recursive": "true"})).json()
    bogus = (await http.get("/Items", params={"Recursive": "true", "IncludeItemTypes": "Bogus"})).json()
    assert bogus["TotalRecordCount"] == everything["TotalRecordCount"] > 12  # an empty array filters nothing
    movies = (await http.get("/Items", params={"Recursive": "true", "IncludeItemTypes": "Movie,Bogus"})).json()
    assert movies["TotalRecordCount"] == 12 and {i["Type"] for i in movies["Items"]} == {"Movie"}
    fields = await http.get("/Items", params={"Recursive": "true", "IncludeItemTypes": "Movie", "Fields": "Bogus"})
    assert fields.status_code == 200 and "Overview" not in fields.json()["Items"][0]
    by_ids = await http.get("/Items", params={"Ids": "not-a-guid", "Recursive": "true"})
    assert by_ids.json()["TotalRecordCount"] == everything["TotalRecordCount"]


async def test_every_item_sort_by_value_is_accepted(jellyfin: tuple[Simulator, httpx.AsyncClient]) -> None:
    sim, http = jellyfin
    assert len(ITEM_SORT_BY) == 30
    user = sim.user("alice").id
    for sort_by in sorted(ITEM_SORT_BY):
        params = {"Recursive": "true", "IncludeItemTypes": "Episode", "SortBy": sort_by, "userId": user}
        response = await http.get("/Items", params=params)
        assert response.status_code == 200, (sort_by, response.text)
    params = {"Recursive": "true", "IncludeItemTypes": "Episode", "SortBy": "SeriesSortName", "SortOrder": "Descending"}
    episodes = (await http.get("/Items", params=params)).json()["Items"]
    keys = [sim.item(e["SeriesId"]).sort_name for e in episodes]
    assert len(set(keys)) == 2 and keys == sorted(keys, reverse=True)


async def test_jellyfin_takes_new_library_parameters_from_the_query_only(
    jellyfin: tuple[Simulator, httpx.AsyncClient], tmp_path: Any
) -> None:
    sim, http = jellyfin
    body = {"Name": "Body only", "CollectionType": "movies", "Paths": [str(tmp_path)], "LibraryOptions": {}}
    assert problem(await http.post("/Library/VirtualFolders", json=body)) == {"name": ["The name field is required."]}
    created = await http.post(
        "/Library/VirtualFolders",
        params={"name": "From query", "collectionType": "movies", "refreshLibrary": "false"},
        json={"LibraryOptions": {"PathInfos": [{"Path": str(tmp_path)}]}},
    )
    assert created.status_code == 204
    library = sim.library_by_name("From query")
    assert library.locations == [str(tmp_path)] and library.collection_type == "movies"


async def test_emby_binds_strings_leniently(emby: tuple[Simulator, httpx.AsyncClient]) -> None:
    sim, http = emby
    assert (await http.get("/Items", params={"IsPlayed": "1", "Recursive": "true"})).status_code == 200
    user = sim.user("alice").id
    assert (await http.get(f"/Users/{user}/Items/not-a-number")).status_code == 404


async def test_emby_versions_list_users_and_libraries_their_way(emby: tuple[Simulator, httpx.AsyncClient]) -> None:
    sim, http = emby
    users, query = await http.get("/Users"), await http.get("/Users/Query", params={"Limit": 2})
    folders = await http.get("/Library/VirtualFolders/Query")
    if sim.emby_version == "4.9":
        assert users.status_code == 403
        assert query.json()["TotalRecordCount"] == 3 and len(query.json()["Items"]) == 2
        assert [f["Name"] for f in folders.json()["Items"]] == ["Movies", "Shows"]
        assert all(f["Id"] == f["ItemId"] and len(f["Guid"]) == 32 for f in folders.json()["Items"])
    else:
        assert users.status_code == 200 and len(users.json()) == 3
        assert query.status_code == 404 and folders.status_code == 404


async def test_emby_playlists_as_documented(emby: tuple[Simulator, httpx.AsyncClient]) -> None:
    sim, http = emby
    movies = [i.id for i in sim.items.values() if i.type == "Movie"][:3]
    created = await http.post("/Playlists", params={"Name": "Docs", "Ids": ",".join(movies[:2]), "MediaType": "Video"})
    assert created.status_code == 200
    playlist = sim.item(created.json()["Id"])
    assert sim.users[str(playlist.owner_id)].is_admin  # an API key has no user: the first administrator owns it
    added = await http.post(f"/Playlists/{playlist.id}/Items", params={"Ids": movies[2]})
    assert created.json()["ItemAddedCount"] == 2 and created.json()["Name"] == "Docs"
    assert added.status_code == 200 and added.json()["ItemAddedCount"] == 1
    owned = await http.post("/Playlists", params={"Name": "Alice's", "UserId": sim.user("alice").id})
    assert sim.item(owned.json()["Id"]).owner_id == sim.user("alice").id


@pytest.mark.parametrize("flavor", ["jellyfin", "emby"])
async def test_deleting_a_user_sends_the_user_deleted_webhook(flavor: str) -> None:
    receiver = Receiver()
    async with serve(receiver.app(), port=free_port()) as hook_url:
        async for sim, http in client_for(flavor):
            sim.webhooks.add_target(f"{hook_url}/hook", "application/json")
            bob = sim.user("bob").id
            assert (await http.delete(f"/Users/{bob}")).status_code == 204
            assert (await http.get(f"/Users/{bob}")).status_code == 404
            await sim.webhooks.drain()
    [(_, payload)] = receiver.received
    if flavor == "jellyfin":
        assert payload["NotificationType"] == "UserDeleted" and payload["UserId"] == bob
    else:
        assert payload["Event"] == "user.deleted" and payload["User"]["Id"] == bob


@pytest.mark.parametrize("flavor", ["jellyfin", "emby"])
async def test_shows_latest_and_browsing(flavor: str) -> None:
    async for sim, http in client_for(flavor):
        alice = sim.user("alice").id
        series = next(i for i in sim.items.values() if i.type == "Series")
        seasons = (await http.get(f"/Shows/{series.id}/Seasons", params={"UserId": alice})).json()
        assert [s["IndexNumber"] for s in seasons["Items"]] == sorted(s["IndexNumber"] for s in seasons["Items"])
        episodes = (await http.get(f"/Shows/{series.id}/Episodes", params={"UserId": alice, "Season": 1})).json()
        assert episodes["TotalRecordCount"] > 0 and {e["ParentIndexNumber"] for e in episodes["Items"]} == {1}
        latest = (await http.get(f"/Users/{alice}/Items/Latest", params={"Limit": 5})).json()
        assert isinstance(latest, list) and 0 < len(latest) <= 5
        assert {i["Type"] for i in latest} <= {"Movie", "Series"}
        detail = (await http.get(f"/Users/{alice}/Items/{series.id}")).json()
        assert detail["Status"] in ("Ended", "Continuing") and detail["AirDays"]
        movie = next(i for i in sim.items.values() if i.type == "Movie")
        with_sources = (
            await http.get(f"/Users/{alice}/Items", params={"Ids": movie.id, "Fields": "MediaSources"})
        ).json()["Items"][0]
        assert with_sources["MediaSources"][0]["Id"] == movie.id
        assert {s["Type"] for s in with_sources["MediaSources"][0]["MediaStreams"]} == {"Video", "Audio"}
        for path in ("/Genres", "/Studios", "/Library/MediaFolders"):
            found = (await http.get(path)).json()
            assert found["TotalRecordCount"] > 0, path
        assert (await http.get("/System/Configuration")).json()["ServerName"] == sim.server_name
        assert isinstance((await http.get("/Sessions")).json(), list)


@pytest.mark.parametrize("flavor", ["jellyfin", "emby"])
async def test_images_list_and_upload(flavor: str) -> None:
    async for sim, http in client_for(flavor):
        movie = next(i for i in sim.items.values() if i.type == "Movie")
        listed = (await http.get(f"/Items/{movie.id}/Images")).json()
        assert {i["ImageType"] for i in listed} == {"Primary", "Backdrop"}
        png = placeholder_png("custom", "Primary")
        body = base64.b64encode(png) if flavor == "jellyfin" else png
        content_type = "image/png" if flavor == "jellyfin" else "application/octet-stream"
        uploaded = await http.post(
            f"/Items/{movie.id}/Images/Primary", content=body, headers={"Content-Type": content_type}
        )
        assert uploaded.status_code == 204, uploaded.text
        assert (await http.get(f"/Items/{movie.id}/Images/Primary")).content == png
        prefs = {"SortBy": "DateCreated", "SortOrder": "Descending", "CustomPrefs": {"a": "b"}}
        alice = sim.user("alice").id
        saved = await http.post(
            "/DisplayPreferences/usersettings", params={"userId": alice, "client": "web"}, json=prefs
        )
        assert saved.status_code == 204
        read = (await http.get("/DisplayPreferences/usersettings", params={"userId": alice, "client": "web"})).json()
        assert read["SortBy"] == "DateCreated" and read["CustomPrefs"] == {"a": "b"}
