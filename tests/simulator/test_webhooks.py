"""Scripted playback makes the simulator POST webhooks shaped like the real ones in ../shared/webhooks."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from providers.simulator import Simulator, serve_simulator, synthetic_catalog
from providers.simulator.serve import free_port
from tests.conftest import shared_path
from tests.servers import serve

_OURS = Path(__file__).resolve().parents[2] / "examples" / "webhooks"
OUR_EXAMPLES = {
    "jellyfin": json.loads((_OURS / "jellyfin" / "user-created.json").read_text()),
    "emby": json.loads((_OURS / "emby" / "user.created.json").read_text()),
}  # the user-created shapes (the shared folder has none)


def example(name: str) -> dict[str, Any]:
    return dict(json.loads(shared_path(f"webhooks/{name}").read_text()))


class Receiver:
    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []

    async def hook(self, request: Request) -> Response:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
            async with request.form() as form:
                payload = json.loads(str(form["data"]))
        else:
            payload = json.loads(await request.body())
        self.received.append((content_type, payload))
        return Response(status_code=204)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])

    def by(self, key: str, value: str) -> list[tuple[str, dict[str, Any]]]:
        return [(ct, p) for ct, p in self.received if p.get(key) == value]


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    recv = Receiver()
    async with serve(recv.app(), port=free_port()) as url:
        yield recv, f"{url}/hook"


def non_provider_keys(payload: dict[str, Any]) -> set[str]:
    return {k for k in payload if not k.startswith("Provider_")}


async def test_jellyfin_playback_and_mark_played(receiver: tuple[Receiver, str]) -> None:
    recv, hook = receiver
    sim = Simulator("jellyfin", catalog=synthetic_catalog(10, 2), users=1, webhook_urls=[hook])
    async with serve_simulator(sim):
        episode = next(i for i in sim.items.values() if i.type == "Episode")
        sim.play("alice", episode.id)
        movie = next(i for i in sim.items.values() if i.type == "Movie")
        sim.mark_played("alice", movie.id)
        await sim.webhooks.drain()

    order = [p["NotificationType"] for _, p in recv.received]
    assert order == [
        "UserDataSaved",
        "PlaybackStart",
        "UserDataSaved",
        "PlaybackProgress",
        "UserDataSaved",
        "PlaybackStop",
        "UserDataSaved",
    ]
    assert all(ct == "text/plain; charset=utf-8" for ct, _ in recv.received)  # the plugin's default
    stop = recv.by("NotificationType", "PlaybackStop")[0][1]
    reference = example("jellyfin-playbackstop.json")
    assert non_provider_keys(stop) == non_provider_keys(reference)
    assert stop["PlayedToCompletion"] is True and stop["ItemId"] == episode.id
    assert stop["SeriesId"] == episode.series_id and stop["Provider_tvdb"]
    saved = [p for _, p in recv.by("NotificationType", "UserDataSaved")]
    assert [p["SaveReason"] for p in saved] == ["PlaybackStart", "PlaybackProgress", "PlaybackFinished", "TogglePlayed"]
    reference = example("jellyfin-userdatasaved.json")
    assert non_provider_keys(saved[-1]) == non_provider_keys(reference)
    assert saved[-1]["Played"] is True and saved[-1]["ItemId"] == movie.id and saved[-1]["ItemType"] == "Movie"


async def test_jellyfin_item_added_and_deleted(receiver: tuple[Receiver, str]) -> None:
    recv, hook = receiver
    sim = Simulator("jellyfin", catalog=synthetic_catalog(3, 0), users=1)
    async with serve_simulator(sim) as url:
        import httpx

        async with httpx.AsyncClient(
            base_url=url, headers={"Authorization": f'MediaBrowser Token="{sim.admin_api_key}"'}
        ) as http:
            assert (
                await http.post("/Sim/Webhooks", json={"Url": hook, "ContentType": "application/json"})
            ).status_code == 204
            added = (
                await http.post(
                    "/Sim/Items",
                    json={
                        "title": "Dune: Part Two",
                        "year": 2024,
                        "tagline": "Long live the fighters.",
                        "tmdbId": 693134,
                        "imdbId": "tt15239678",
                        "genres": ["Science Fiction", "Adventure"],
                        "overview": "Paul...",
                        "runtime_min": 166,
                    },
                )
            ).json()
            await http.delete(f"/Sim/Items/{added['Id']}")
        await sim.webhooks.drain()
    (ct_added, payload), (_, deleted) = recv.received
    assert ct_added == "application/json"
    reference = example("jellyfin-itemadded.json")
    assert set(payload) == set(reference)
    assert payload["Genres"] == "Science Fiction, Adventure" and payload["RunTime"] == "02:46:00"
    assert deleted["NotificationType"] == "ItemDeleted" and deleted["ItemId"] == added["Id"]


async def test_emby_playback_stop_is_multipart_and_nested(receiver: tuple[Receiver, str]) -> None:
    recv, hook = receiver
    sim = Simulator("emby", catalog=synthetic_catalog(10, 2), users=1, webhook_urls=[hook])
    async with serve_simulator(sim):
        episode = next(i for i in sim.items.values() if i.type == "Episode")
        sim.play("alice", episode.id)
        movie = next(i for i in sim.items.values() if i.type == "Movie")
        sim.mark_played("alice", movie.id)
        sim.set_favorite("alice", movie.id)
        await sim.webhooks.drain()
    events = [p["Event"] for _, p in recv.received]
    assert events == ["playback.start", "playback.stop", "item.markplayed", "item.rate"]
    assert all(ct.startswith("multipart/form-data; boundary=") for ct, _ in recv.received)
    stop = recv.by("Event", "playback.stop")[0][1]
    reference = example("emby-playback.stop.json")
    assert set(stop) == set(reference)
    for part in ("User", "Server", "Session", "PlaybackInfo"):
        assert set(stop[part]) == set(reference[part]), part
    assert set(reference["Item"]) - set(stop["Item"]) <= {
        "ExternalUrls",
        "Width",
        "Height",
        "Studios",
        "GenreItems",
        "Taglines",
        "Genres",
    }
    assert stop["Item"]["Id"] == episode.id and stop["Item"]["Id"].isdigit()
    assert stop["PlaybackInfo"]["PlayedToCompletion"] is True
    assert stop["Title"].startswith("alice has finished playing")
    marked = recv.by("Event", "item.markplayed")[0][1]
    reference = example("emby-item.markplayed.json")
    assert set(marked) == set(reference) and set(marked["User"]) == set(reference["User"])
    assert marked["Item"]["UserData"]["Played"] is True


async def test_emby_library_new_as_json(receiver: tuple[Receiver, str]) -> None:
    recv, hook = receiver
    sim = Simulator("emby", catalog=synthetic_catalog(3, 0), users=1)
    sim.webhooks.add_target(hook, "application/json")
    async with serve_simulator(sim):
        from providers.simulator import CatalogMovie

        item = sim.add_movie(
            CatalogMovie(key="new", title="Dune: Part Two", year=2024, tmdb_id="693134", imdb_id="tt15239678")
        )
        await sim.webhooks.drain()
    ((content_type, payload),) = recv.received
    assert content_type == "application/json"
    reference = example("emby-library.new.json")
    assert set(payload) == set(reference) and payload["Item"]["Id"] == item.id
    assert {"Id", "Name", "Path", "ProviderIds", "Type", "RunTimeTicks"} <= set(payload["Item"])


@pytest.mark.parametrize("flavor", ["jellyfin", "emby"])
async def test_a_new_user_is_announced_like_the_examples(receiver: tuple[Receiver, str], flavor: str) -> None:
    recv, hook = receiver
    sim = Simulator(flavor, catalog=synthetic_catalog(3, 0), users=1)  # type: ignore[arg-type]
    sim.webhooks.add_target(hook, "application/json")
    async with serve_simulator(sim):
        maria = sim.add_user("maria", "pw")
        await sim.webhooks.drain()
    ((_, payload),) = recv.received
    reference = OUR_EXAMPLES["jellyfin" if flavor == "jellyfin" else "emby"]
    assert set(payload) == set(reference)
    if flavor == "jellyfin":
        assert payload["NotificationType"] == "UserCreated" and payload["UserId"] == maria.id
    else:
        assert payload["Event"] == "user.created" and payload["User"] == {"Name": "maria", "Id": maria.id}
