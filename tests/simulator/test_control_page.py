"""The simulator's control page: who may open it and what its buttons do. In Chromium, against the real demo,
playing a title changes the user's AI Picks on the same page within seconds: tests/test_demo.py."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from providers.simulator.control_page import CONTROL, open_on_localhost
from providers.simulator.demo_catalogue import demo_catalogue, seed_taste_histories
from providers.simulator.state import Simulator


def _sim(*, open_locally: bool = True) -> Simulator:
    sim = Simulator("jellyfin", catalog=demo_catalogue(40, 6), users=2, scan_duration_s=0.01)
    seed_taste_histories(sim)
    sim.webhooks.add_target("http://127.0.0.1:9/webhooks/jellyfin?token=secret-in-the-url")  # nobody listens
    if open_locally:
        open_on_localhost(sim)
    return sim


@pytest.fixture
async def local() -> AsyncIterator[tuple[Simulator, httpx.AsyncClient]]:
    sim = _sim()
    transport = httpx.ASGITransport(app=sim.app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8096") as client:
        yield sim, client
    await sim.webhooks.aclose()


async def _sent(sim: Simulator, wanted: list[str], timeout_s: float = 10) -> list[str]:
    """The events delivered (or tried), once ``wanted`` are among them (or the timeout passed)."""
    deadline = time.monotonic() + timeout_s
    while True:
        await sim.webhooks.drain()
        events = [d.event for d in sim.webhooks.sent]
        if all(events.count(w) >= wanted.count(w) for w in wanted) or time.monotonic() > deadline:
            return events
        await asyncio.sleep(0.05)


def _token(page: str) -> str:
    match = re.search(r'name="token" value="([^"]+)"', page)
    assert match, "no form token on the page"
    return match.group(1)


async def test_open_from_localhost_in_the_demo_and_closed_otherwise() -> None:
    sim = _sim()
    cases = [
        (("127.0.0.1", 5000), "http://127.0.0.1:8096", "", 200),
        (("127.0.0.1", 5000), "http://localhost:8096", "", 200),
        (("10.1.2.3", 5000), "http://127.0.0.1:8096", "", 403),  # from another machine
        (("127.0.0.1", 5000), "http://rebound.example:8096", "", 403),  # a DNS-rebinding page in a local browser
        (("10.1.2.3", 5000), "http://sim.lan:8096", f"?ApiKey={sim.admin_api_key}", 200),  # with the admin key
        (("10.1.2.3", 5000), "http://sim.lan:8096", "?ApiKey=wrong", 403),
    ]
    for client, base, query, status in cases:
        transport = httpx.ASGITransport(app=sim.app, client=client)
        async with httpx.AsyncClient(transport=transport, base_url=base) as http:
            response = await http.get(f"{CONTROL}{query}")
        assert response.status_code == status, (client, base, query, response.text[:200])
        if status == 200:
            assert "script-src 'self'" in response.headers["content-security-policy"]
            assert "<script>" not in response.text and "style=" not in response.text
            assert "secret-in-the-url" not in response.text  # the webhook target is shown by its origin only
        if status == 403:
            assert "admin API key" in response.text
    closed = _sim(open_locally=False)  # `marquee simulator`: the key is always needed
    transport = httpx.ASGITransport(app=closed.app, client=("127.0.0.1", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8096") as http:
        assert (await http.get(CONTROL)).status_code == 403
        page = await http.get(f"{CONTROL}?ApiKey={closed.admin_api_key}")
        assert page.status_code == 200 and f"ApiKey={closed.admin_api_key}" in page.text  # carried in its forms


async def test_buttons_change_the_users_state_and_send_the_webhooks(local: tuple[Simulator, httpx.AsyncClient]) -> None:
    sim, client = local
    page = await client.get(CONTROL, params={"user": "alice", "kind": "movies"})
    assert page.status_code == 200 and "crime and thrillers" in page.text
    token = _token(page.text)
    alice = sim.user("alice")
    movie = next(i for i in sim.items.values() if i.type == "Movie" and not sim.get_user_data(alice.id, i).played)
    assert movie.name in page.text or (await client.get(CONTROL, params={"q": movie.name})).status_code == 200

    async def act(action: str, item_id: str) -> httpx.Response:
        form = {"token": token, "user": "alice", "item": item_id, "action": action, "q": movie.name}
        return await client.post(f"{CONTROL}/Act", data=form)

    done = await act("play", movie.id)
    assert done.status_code == 303 and "done=play" in done.headers["location"]
    assert sim.get_user_data(alice.id, movie).played
    shown = await client.get(done.headers["location"])
    assert f"alice watched {movie.name} to the end." in shown.text and "watched</span>" in shown.text

    await act("unplayed", movie.id)
    assert not sim.get_user_data(alice.id, movie).played
    await act("half", movie.id)
    data = sim.get_user_data(alice.id, movie)
    assert not data.played and movie.runtime_ticks and data.position_ticks == movie.runtime_ticks // 2
    await act("favourite", movie.id)
    assert sim.get_user_data(alice.id, movie).is_favorite

    show = next(i for i in sim.items.values() if i.type == "Series")
    first = sim.descendants(show, {"Episode"})
    unplayed = next(e for e in first if not sim.get_user_data(alice.id, e).played)
    await act("play", show.id)  # a show plays its next unplayed episode
    assert sim.get_user_data(alice.id, unplayed).played

    events = await _sent(sim, ["PlaybackStop"] * 3)
    assert events.count("PlaybackStart") == 3 and events.count("PlaybackStop") == 3
    assert "UserDataSaved" in events
    live = await client.get(f"{CONTROL}/Live", params={"user": "alice"})
    assert live.status_code == 200 and "PlaybackStop" in live.text and "no answer" in live.text

    forged = await client.post(
        f"{CONTROL}/Act", data={"token": "guess", "user": "alice", "item": movie.id, "action": "play"}
    )
    assert forged.status_code == 403 and "reload the page" in forged.text
    unknown = await act("explode", movie.id)
    assert unknown.status_code == 400 and "Unknown action" in unknown.text
    missing = await act("play", "0" * 32)
    assert missing.status_code == 404


async def test_add_and_remove_a_title(local: tuple[Simulator, httpx.AsyncClient]) -> None:
    sim, client = local
    token = _token((await client.get(CONTROL)).text)
    bad = await client.post(f"{CONTROL}/Add", data={"token": token, "title": "Odd", "year": "20x5", "user": "bob"})
    assert bad.status_code == 400 and "Year must be a number" in bad.text and "kids &amp; family" in bad.text
    added = await client.post(
        f"{CONTROL}/Add",
        data={
            "token": token,
            "title": "Paddington 2",
            "year": "2017",
            "type": "movie",
            "genres": "Children & Family Movies",
        },
    )
    assert added.status_code == 303
    movie = sim.find_by_name("Paddington 2", "Movie")
    assert movie.genres == ["Children & Family Movies"] and movie.year == 2017
    listed = await client.get(added.headers["location"])
    assert "Added Paddington 2 to the catalogue." in listed.text
    removed = await client.post(
        f"{CONTROL}/Act", data={"token": token, "user": "bob", "item": movie.id, "action": "remove"}
    )
    assert removed.status_code == 303 and movie.id not in sim.items
    assert {"ItemAdded", "ItemDeleted"} <= set(await _sent(sim, ["ItemAdded", "ItemDeleted"]))


async def test_a_playback_does_not_wait_behind_a_scans_announcements() -> None:
    sim = _sim()
    movies = [i for i in sim.items.values() if i.type == "Movie"][:30]
    for movie in movies:  # a scan's worth of ItemAdded, queued before the playback
        sim.webhooks.item_added(movie)
    sim.play("alice", movies[0].id)
    events = await _sent(sim, ["ItemAdded"] * 30 + ["PlaybackStop"])
    assert events.index("PlaybackStop") < len(events) - 20, events
    await sim.webhooks.aclose()
