"""Channel pages and API (issue 14): examples chosen by id (switching the type leaves the other kind out instead
of failing), generate, sync to the server and back, the sync state and playlist link, errors as messages; and in
Chromium the search-as-you-type example picker, with screenshots of every channel page at both sizes."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from sqlmodel import select

from providers.simulator.model import SimItem
from sidecar.db.models import Channel, Item
from sidecar.embeddings import embed_items
from sidecar.jobs.progress import Progress
from sidecar.media_types import MediaType
from tests.embeddings.doubles import HashingEmbedder
from tests.web.conftest import Web, csrf_of


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where the screenshots go: ``MARQUEE_SHOTS_DIR`` to keep them, else the test's temporary folder."""
    folder = Path(os.environ.get("MARQUEE_SHOTS_DIR") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def _mirror(web: Web) -> dict[str, Item]:
    """The simulator's movies and series as item rows (by provider id), embedded with the test double."""
    rows: dict[str, Item] = {}
    sim_items: list[SimItem] = [i for i in web.sim.items.values() if i.type in ("Movie", "Series")]
    for sim_item in sorted(sim_items, key=lambda i: i.name):
        rows[sim_item.id] = await web.add_item(
            sim_item.name,
            kind=sim_item.type,
            provider_id=sim_item.id,
            year=sim_item.year,
            genres=list(sim_item.genres),
            overview=sim_item.overview,
        )
    web.services.embedder = HashingEmbedder(16)
    for media_type in (MediaType.MOVIES, MediaType.SERIES):
        await embed_items(web.services, web.services.embedder, media_type, Progress.detached())
    return rows


def _first(rows: dict[str, Item], kind: str) -> Item:
    return next(i for i in rows.values() if i.kind == kind)


async def _channel(web: Web, channel_id: int) -> Channel:
    async with web.services.sessions() as session:
        row = await session.get(Channel, channel_id)
        assert row is not None
        return row


async def test_examples_by_id_and_switching_to_series_leaves_the_movie_out(web: Web) -> None:
    rows = await _mirror(web)
    movie, show = _first(rows, "Movie"), _first(rows, "Series")
    client = await web.login("alice")
    token = await csrf_of(client, "/channels/new")
    form = {"csrf_token": token, "name": "Mine", "media_type": "movies", "example_ids": [str(movie.id)]}
    created = await client.post("/channels", data=form)
    assert created.status_code == 303
    channel_id = int(created.headers["location"].rsplit("/", 1)[1])
    assert (await _channel(web, channel_id)).example_item_ids == [movie.id]

    edit = await client.get(f"/channels/{channel_id}/edit")
    assert f'name="example_ids" value="{movie.id}" checked' in edit.text  # the chosen example, by id
    switched = await client.post(f"/channels/{channel_id}", data={**form, "media_type": "series"})
    assert switched.status_code == 303 and switched.headers["location"].endswith("?note=left_out")
    page = await client.get(switched.headers["location"])
    assert "Examples of the other type were left out" in page.text and "not found" not in page.text
    assert (await _channel(web, channel_id)).example_item_ids == []

    again = await client.post(
        f"/channels/{channel_id}", data={**form, "media_type": "series", "example_ids": [str(show.id)]}
    )
    assert again.status_code == 303 and "note" not in again.headers["location"]
    assert (await _channel(web, channel_id)).example_item_ids == [show.id]

    typed = await client.post("/channels", data={**form, "example_ids": [], "examples": "No Such Film (1901)"})
    assert typed.status_code == 400 and "No movies titled: No Such Film (1901)" in typed.text
    bad = await client.post("/channels", data={**form, "example_ids": ["12x"]})
    assert bad.status_code == 400 and "example_ids: &#39;12x&#39; is not an id" in bad.text


async def test_api_generate_sync_and_unsync(web: Web) -> None:
    rows = await _mirror(web)
    movies = [i for i in rows.values() if i.kind == "Movie"]
    alice, bob = await web.user_row("alice"), await web.user_row("bob")
    client, token = await web.api_login("alice")
    headers = {"X-CSRF-Token": token}
    created = await client.post(
        "/api/channels",
        json={"name": "New channel", "example_item_ids": [movies[0].id], "shared_with": [bob.id]},
        headers=headers,
    )
    channel_id = created.json()["id"]
    generated = await client.post(f"/api/channels/{channel_id}/generate", headers=headers)
    assert generated.status_code == 200, generated.text
    body = generated.json()
    assert body["proposal"]["source"] == "template" and body["name"] == body["proposal"]["name"] != "New channel"
    assert body["items"] and body["sync"]["enabled"] is False

    assert (await client.post(f"/api/channels/{channel_id}/sync")).status_code == 403  # no CSRF token
    guest, guest_token = await web.api_login("bob")
    refused = await guest.post(f"/api/channels/{channel_id}/sync", headers={"X-CSRF-Token": guest_token})
    assert refused.status_code == 403 and "owner" in refused.json()["error"]["message"]

    synced = await client.post(f"/api/channels/{channel_id}/sync", headers=headers)
    assert synced.status_code == 200, synced.text
    state = synced.json()
    playlist_id = state["sync"]["playlist_id"]
    assert state["sync"]["enabled"] and state["sync"]["error"] is None
    assert state["sync"]["item_count"] == len(body["items"]) == state["result"]["items"]
    link = f"/web/#/details?id={playlist_id}&serverId={web.sim.server_id}"
    assert state["sync"]["playlist_url"].endswith(link)
    held = [e.item_id for e in web.sim.playlist_entries[playlist_id]]
    async with web.services.sessions() as session:
        by_id = {i.id: i.provider_id for i in (await session.exec(select(Item))).all()}
    assert held == [by_id[i["id"]] for i in body["items"]]
    assert web.sim.item(playlist_id).owner_id == web.sim.user("alice").id
    assert set(web.sim.item(playlist_id).shares) == {web.sim.user("bob").id}

    page = await (await web.login("alice")).get(f"/channels/{channel_id}")
    assert "Synced as a playlist" in page.text and "Open the playlist" in page.text
    assert f"{len(held)} entries" in page.text and "Stop syncing" in page.text

    web.sim.inject_fault(500, 5, path_contains=f"/Playlists/{playlist_id}", method="POST")
    failed = await client.post(f"/api/channels/{channel_id}/sync", headers=headers)
    assert failed.status_code == 502 and "did not take the playlist" in failed.json()["error"]["message"]
    assert (await _channel(web, channel_id)).sync_error
    web.sim.faults.clear()

    removed = await client.delete(f"/api/channels/{channel_id}/sync", headers=headers)
    assert removed.status_code == 200 and removed.json()["sync"] == {
        "enabled": False,
        "playlist_id": None,
        "synced_at": None,
        "item_count": None,
        "error": None,
        "playlist_url": None,
    }
    assert playlist_id not in web.sim.items
    assert alice.id is not None


@pytest.mark.browser
@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs Debian's chromium at /usr/bin/chromium")
async def test_example_picker_in_chromium_and_screenshots(web: Web, shots: Path) -> None:
    from playwright.async_api import async_playwright, expect

    from tests.web.test_browser import CHROMIUM_ARGS

    rows = await _mirror(web)
    movie = _first(rows, "Movie")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1366, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await page.goto(f"{web.base}/login")
            await page.fill("#name", "alice")
            await page.fill("#password", web.password("alice"))
            await page.click("button[type=submit]")
            await page.goto(f"{web.base}/channels/new")
            await page.fill("#name", "Picked by search")
            await page.fill("#example-search", movie.name[:4])
            result = page.locator("#example-results button", has_text=movie.name)
            await expect(result.first).to_be_visible()
            await page.screenshot(path=str(shots / "channel-form-search-1366.png"), full_page=True)
            await result.first.click()
            await expect(page.locator('[data-chosen] input[name="example_ids"]')).to_have_count(1)
            await page.fill("#text_preferences", "heartwarming comedies")
            await page.screenshot(path=str(shots / "channel-form-1366.png"), full_page=True)
            await page.click("text=Save channel")
            await expect(page).to_have_url(re.compile(r"/channels/\d+$"))
            channel_id = int(page.url.rsplit("/", 1)[1])
            assert (await _channel(web, channel_id)).example_item_ids == [movie.id]
            await page.click("button:has-text('Generate')")
            await page.click("button:has-text('Sync to server')")
            await expect(page.locator(".channel-sync")).to_contain_text("Synced as a playlist")
            assert not errors, errors
            for width, height in ((1366, 900), (390, 844)):
                await page.set_viewport_size({"width": width, "height": height})
                for path, name in (
                    (f"/channels/{channel_id}", "channel"),
                    (f"/channels/{channel_id}/edit", "channel-edit"),
                    ("/channels", "channels"),
                ):
                    await page.goto(f"{web.base}{path}")
                    await page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)
                    wide = await page.evaluate("document.documentElement.scrollWidth")
                    assert wide <= width, f"{path} is {wide}px wide at {width}px"
        finally:
            await browser.close()
