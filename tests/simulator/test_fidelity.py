"""Every response the providers consume matches the real servers' OpenAPI schemas."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from providers.mediabrowser import EmbyServer, JellyfinServer, MediaBrowserServer
from providers.simulator import Simulator, serve_simulator, synthetic_catalog
from tests.conftest import shared_path
from tests.simulator.spec_check import SPEC_FILES, Recorder, response_schema, validate


async def exercise(provider: MediaBrowserServer, sim: Simulator, tmp_path: Path) -> None:
    """Call every provider operation once."""
    await provider.server_info()
    alice = sim.user("alice")
    user, _token = await provider.authenticate_user("alice", alice.password)
    await provider.list_users()
    await provider.get_user(user.id)
    await provider.set_user_folders(user.id, enable_all_folders=True, enabled_folders=[])
    libraries = await provider.list_libraries()
    movies = [m async for m in provider.iter_items(["Movie"], user_id=user.id, page_size=10)]
    [e async for e in provider.iter_items(["Series", "Season", "Episode"], parent_id=libraries[1].id)]
    await provider.count_items(["Movie"], user_id=user.id)
    await provider.get_item(movies[0].id, user_id=user.id)
    await provider.get_item(movies[0].id)
    await provider.mark_played(user.id, movies[0].id)
    await provider.mark_unplayed(user.id, movies[0].id)
    await provider.set_favorite(user.id, movies[1].id, True)
    sim.play_start("alice", movies[2].id)
    sim.play_stop("alice", movies[2].id, (sim.item(movies[2].id).runtime_ticks or 0) // 3)
    await provider.resume_items(user.id)
    await provider.get_user_data(user.id, [m.id for m in movies[:5]])
    folder = tmp_path / "lib"
    folder.mkdir()
    library = await provider.create_library("Picks", "movies", [str(folder)])
    await provider.update_library_options(library.id, {"SaveLocalMetadata": False})
    await provider.refresh_library()
    await provider.wait_for_scan(timeout_s=10)
    await provider.set_sort_name(movies[3].id, "aaa")
    collection = await provider.create_collection("C", [movies[0].id])
    await provider.collection_items(collection.id)
    await provider.list_collections()
    playlist = await provider.create_playlist("P", [movies[0].id, movies[1].id], user.id)
    entries = await provider.playlist_entries(playlist.id, user.id)
    await provider.remove_from_playlist(playlist.id, [entries[0].entry_id])
    await provider.list_playlists(user.id)
    await provider.delete_library("Picks")


@pytest.mark.parametrize("flavor", ["jellyfin", "emby"])
async def test_provider_visible_responses_match_the_real_schemas(flavor: str, tmp_path: Path) -> None:
    shared_path(f"specs/{SPEC_FILES[flavor].name}")  # skips, or fails under CI, when it is missing
    sim = Simulator(flavor, catalog=synthetic_catalog(30, 2), users=2, scan_duration_s=0.01)
    recorder = Recorder()
    async with serve_simulator(sim) as url:
        cls = JellyfinServer if flavor == "jellyfin" else EmbyServer
        provider = cls(url, sim.admin_api_key, retries=0, http_transport=recorder)
        try:
            await exercise(provider, sim, tmp_path)
        finally:
            await provider.aclose()
    validated: set[str] = set()
    unmatched: set[str] = set()
    for method, path, status, body in recorder.seen:
        spec_path = path[len("/emby") :] if flavor == "emby" else path
        found = response_schema(flavor, method, spec_path, status)
        if found is None and method == "POST" and spec_path.endswith("/Delete"):
            # Emby's POST .../Delete aliases answer like the DELETE they stand for.
            found = response_schema(flavor, "DELETE", spec_path[: -len("/Delete")], status)
        if found is None:
            unmatched.add(f"{method} {spec_path}")
            continue
        template, schema = found
        await asyncio.to_thread(validate, flavor, schema, body)
        validated.add(f"{method} {template}")
    assert not unmatched, unmatched
    expected = {
        "GET /System/Info",
        "GET /Users",
        "GET /Library/VirtualFolders",
        "GET /ScheduledTasks",
        "POST /Collections",
        "POST /Playlists",
        "POST /Users/AuthenticateByName",
    }
    assert expected <= validated, validated
    assert len(validated) >= 14, validated
