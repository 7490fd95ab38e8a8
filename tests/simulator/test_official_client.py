"""The official jellyfin-apiclient-python talks to the simulator as it would to Jellyfin."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from providers.simulator import Simulator, serve_simulator, synthetic_catalog

apiclient = pytest.importorskip("jellyfin_apiclient_python")


def with_token(url: str, token: str, user_id: str) -> dict[str, Any]:
    client = apiclient.JellyfinClient()
    client.config.app("sim-test", "0.1.0", "ci-box", "ci-device-1")
    client.config.data["auth.ssl"] = False
    client.authenticate({"Servers": [{"AccessToken": token, "address": url, "UserId": user_id}]}, discover=False)
    users = client.jellyfin.get_users()
    items = client.jellyfin.user_items(
        params={
            "Recursive": True,
            "IncludeItemTypes": "Movie",
            "Fields": "ProviderIds,Genres",
            "StartIndex": 0,
            "Limit": 5,
        }
    )
    first = client.jellyfin.get_item(items["Items"][0]["Id"])
    client.jellyfin.item_played(first["Id"], True)
    client.stop()
    return {"users": users, "items": items, "first": first}


def with_password(url: str, name: str, password: str) -> dict[str, Any]:
    client = apiclient.JellyfinClient()
    client.config.app("sim-test", "0.1.0", "ci-box", "ci-device-2")
    client.config.data["auth.ssl"] = False
    client.auth.connect_to_address(url)
    result = client.auth.login(url, name, password)
    client.stop()
    return dict(result)


async def test_official_client_lists_users_and_items() -> None:
    sim = Simulator("jellyfin", catalog=synthetic_catalog(12, 1), users=2)
    alice = sim.user("alice")
    async with serve_simulator(sim) as url:
        seen = await asyncio.to_thread(with_token, url, sim.admin_api_key, alice.id)
        login = await asyncio.to_thread(with_password, url, "alice", alice.password)
    assert {u["Name"] for u in seen["users"]} == {"admin", "alice", "bob"}
    assert seen["items"]["TotalRecordCount"] == 12 and len(seen["items"]["Items"]) == 5
    assert seen["items"]["Items"][0]["ProviderIds"]["Imdb"].startswith("tt")
    assert seen["first"]["Name"] == seen["items"]["Items"][0]["Name"]
    assert sim.get_user_data(alice.id, sim.item(seen["first"]["Id"])).played
    assert login["User"]["Id"] == alice.id and len(login["AccessToken"]) == 32
