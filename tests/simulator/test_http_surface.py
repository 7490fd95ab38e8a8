"""The simulator's wire behaviour: auth forms, case-insensitive routes, status codes, ids, admin controls."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from providers.simulator import Simulator, serve_simulator, synthetic_catalog

HEX32 = re.compile(r"^[0-9a-f]{32}$")


@pytest.fixture(params=["jellyfin", "emby"])
async def server(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Simulator, httpx.AsyncClient]]:
    sim = Simulator(request.param, catalog=synthetic_catalog(20, 2), users=2, api_key="a" * 32)
    async with serve_simulator(sim) as url, httpx.AsyncClient(base_url=url) as http:
        yield sim, http


async def test_jellyfin_accepts_every_token_form_and_legacy_switch() -> None:
    sim = Simulator("jellyfin", catalog=synthetic_catalog(5, 0), users=1)
    key = sim.admin_api_key
    forms = {
        "authorization": ({"Authorization": f'MediaBrowser Client="t", Token="{key}"'}, {}),
        "apikey-query": ({}, {"ApiKey": key}),
        "x-emby-token": ({"X-Emby-Token": key}, {}),
        "x-mediabrowser-token": ({"X-MediaBrowser-Token": key}, {}),
        "x-emby-authorization": ({"X-Emby-Authorization": f'MediaBrowser Token="{key}"'}, {}),
        "api_key-query": ({}, {"api_key": key}),
    }
    legacy = {"x-emby-token", "x-mediabrowser-token", "x-emby-authorization", "api_key-query"}
    async with serve_simulator(sim) as url, httpx.AsyncClient(base_url=url) as http:
        for headers, params in forms.values():
            assert (await http.get("/System/Info", headers=headers, params=params)).status_code == 200
        sim.legacy_auth = False  # Jellyfin 12 default
        for name, (headers, params) in forms.items():
            status = (await http.get("/System/Info", headers=headers, params=params)).status_code
            assert status == (401 if name in legacy else 200), name


async def test_status_codes_and_case_insensitivity(server: tuple[Simulator, httpx.AsyncClient]) -> None:
    sim, http = server
    prefix = "/emby" if sim.flavor == "emby" else ""
    key = (
        {"X-Emby-Token": sim.admin_api_key}
        if sim.flavor == "emby"
        else {"Authorization": f'MediaBrowser Token="{sim.admin_api_key}"'}
    )
    assert (await http.get(f"{prefix}/system/info/public")).status_code == 200
    assert (await http.get(f"{prefix}/System/Info")).status_code == 401
    assert (await http.get(f"{prefix}/system/INFO", headers=key)).status_code == 200
    users = (await http.get(f"{prefix}/users", headers=key)).json()
    assert all(HEX32.match(u["Id"]) for u in users)
    items = (
        await http.get(
            f"{prefix}/Items", headers=key, params={"recursive": "TRUE", "INCLUDEITEMTYPES": "Movie", "limit": 3}
        )
    ).json()
    assert items["TotalRecordCount"] == 20 and len(items["Items"]) == 3
    assert ("StartIndex" in items) == (sim.flavor == "jellyfin")
    ids = [i["Id"] for i in items["Items"]]
    assert all(HEX32.match(i) for i in ids) if sim.flavor == "jellyfin" else all(i.isdigit() for i in ids)
    assert all(v is not None for i in items["Items"] for v in i.values())  # nulls omitted
    missing = "0" * 32 if sim.flavor == "jellyfin" else "987654"
    user_id = users[1]["Id"]
    assert (await http.get(f"{prefix}/Users/{user_id}/Items/{missing}", headers=key)).status_code == 404
    # A non-admin user token: 403 on admin routes.
    alice = sim.user("alice")
    auth = await http.post(
        f"{prefix}/Users/AuthenticateByName",
        json={"Username": "alice", "Pw": alice.password},
        headers={"Authorization": 'MediaBrowser Client="t", Device="d", DeviceId="1", Version="1"'},
    )
    token = auth.json()["AccessToken"]
    assert HEX32.match(token)
    user_headers = {"Authorization": f'MediaBrowser Client="t", Device="d", DeviceId="1", Version="1", Token="{token}"'}
    assert (await http.get(f"{prefix}/Library/VirtualFolders", headers=user_headers)).status_code == 403
    assert (
        await http.get(
            f"{prefix}/Users/{alice.id}/Items", headers=user_headers, params={"Recursive": "true", "Limit": 1}
        )
    ).status_code == 200
    if sim.flavor == "emby":
        assert (await http.get("/System/Info/Public")).status_code == 200  # root works on 4.x too


async def test_admin_controls_drive_playback_and_catalogue(server: tuple[Simulator, httpx.AsyncClient]) -> None:
    sim, http = server
    key = (
        {"X-Emby-Token": sim.admin_api_key}
        if sim.flavor == "emby"
        else {"Authorization": f'MediaBrowser Token="{sim.admin_api_key}"'}
    )
    movie = next(i for i in sim.items.values() if i.type == "Movie")
    for action, position in (("Start", 0), ("Progress", 10), ("Stop", movie.runtime_ticks)):
        response = await http.post(
            f"/Sim/Playback/{action}",
            headers=key,
            json={"UserName": "bob", "ItemId": movie.id, "PositionTicks": position},
        )
        assert response.status_code == 200
    assert response.json()["Played"] is True and sim.get_user_data(sim.user("bob").id, movie).played
    assert (await http.post(f"/Sim/Users/bob/Favorite/{movie.id}", headers=key)).json()["IsFavorite"] is True
    added = await http.post(
        "/Sim/Items", headers=key, json={"title": "Brand New", "year": 2026, "genres": ["Drama"], "imdbId": "tt0000001"}
    )
    assert added.status_code == 200 and added.json()["Name"] == "Brand New"
    assert (await http.delete(f"/Sim/Items/{added.json()['Id']}", headers=key)).status_code == 204
    assert (await http.post("/Sim/Faults", headers=key, json={"Status": 500, "Count": 1})).status_code == 204
    assert (await http.get("/System/Info", headers=key)).status_code == 500
    assert (await http.get("/System/Info", headers=key)).status_code == 200
    assert (await http.get("/Sim/Users")).status_code == 401
    users = (await http.get("/Sim/Users", headers=key)).json()
    assert {u["Name"] for u in users} == {"admin", "alice", "bob"} and all(u["Password"] for u in users)


async def test_placeholder_images_are_png(server: tuple[Simulator, httpx.AsyncClient]) -> None:
    sim, http = server
    movie = next(i for i in sim.items.values() if i.type == "Movie")
    image = await http.get(f"/Items/{movie.id}/Images/Primary", params={"tag": movie.image_tag, "maxWidth": 200})
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert image.content[:8] == b"\x89PNG\r\n\x1a\n" and b"IEND" in image.content
