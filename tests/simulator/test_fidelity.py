"""Every request the providers send and every response they consume match the real servers' OpenAPI specs
(Jellyfin 10.11.8; Emby 4.1.1, and Emby 4.9's SDK for what that older spec lacks)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest

from providers.errors import ProviderNotFound
from providers.mediabrowser import EmbyServer, JellyfinServer, MediaBrowserServer
from providers.simulator import Simulator, serve_simulator, synthetic_catalog
from tests.conftest import shared_path
from tests.simulator.spec_check import (
    SPEC_FILES,
    Recorder,
    SentRequest,
    emby_sdk_problems,
    load_spec,
    request_problems,
    response_schema,
    validate,
)


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
    await provider.refresh_library(library.id)
    await provider.wait_for_scan(timeout_s=10, library_id=library.id, settle_s=0.05)
    await provider.update_item(movies[4].id, {"Overview": "Checked"})
    await provider.fetch_image(movies[0].id, max_width=200)
    collection = await provider.create_collection("C", [movies[0].id])
    await provider.add_to_collection(collection.id, [movies[1].id, movies[2].id])
    await provider.remove_from_collection(collection.id, [movies[2].id])
    await provider.collection_items(collection.id)
    await provider.list_collections()
    playlist = await provider.create_playlist("P", [movies[0].id, movies[1].id], user.id)
    await provider.add_to_playlist(playlist.id, [movies[2].id], user.id)
    entries = await provider.playlist_entries(playlist.id, user.id)
    await provider.remove_from_playlist(playlist.id, [entries[0].entry_id])
    await provider.move_playlist_entry(playlist.id, entries[-1].entry_id, 0)
    await provider.update_playlist(playlist.id, name="P2", shared_with=[user.id])
    await provider.playlist_shared_with(playlist.id)
    await provider.list_playlists(user.id)
    person = next(p.name for m in sim.items.values() for p in m.people)
    await provider.fetch_named_image("Persons", person, max_width=100)
    with pytest.raises(ProviderNotFound):
        await provider.fetch_user_image(user.id)
    await provider.delete_item(movies[5].id)
    await provider.delete_library("Picks")


EMBY_UNDOCUMENTED = {
    "EnableTotalRecordCount": "paging without counting; absent from Emby's documents, and ServiceStack ignores a "
    "query parameter its request DTO lacks, so at worst it is a no-op",
    "UserId": "POST /Playlists: the owner when creating with an API key (MediaBrowser's CreatePlaylist had it; "
    "Aperture sends it to real Emby); declared by Emby's other operations",
}
"""Query parameters the Emby provider sends that Emby's documents (the 4.1.1 spec, the 4.9 SDK) lack, and why."""

EMBY_48_LIBRARY_REMOVAL = {"Name", "RefreshLibrary"}
"""Before 4.9 the provider removes a library by name (``POST /Library/VirtualFolders/Delete?Name=``): MediaBrowser's
RemoveVirtualFolder request, which Emby's documents do not list (the 4.1.1 spec gives the route no parameters, the
4.9 SDK takes ``{Id, RefreshLibrary}`` in a body, which the provider sends to 4.9)."""


EMBY_ADD_TO_PLAYLIST_RESULT = {
    "type": "object",
    "required": ["ItemAddedCount"],
    "properties": {"Id": {"type": "string"}, "ItemAddedCount": {"type": "integer"}},
}
"""What Emby answers to adding playlist items: the 4.9 SDK's PlaylistsAddToPlaylistResult (the 4.1.1 spec says
"empty")."""


def emby_request_problems(sent: SentRequest, version: str) -> list[str]:
    """Emby requests against the 4.1.1 spec (names, types, bodies), and where it lacks an operation or a
    parameter, against the 4.9 SDK's parameter lists."""
    problems = request_problems("emby", sent, EMBY_UNDOCUMENTED)
    if not problems:
        return []
    sdk = emby_sdk_problems(sent)
    if sdk is None:
        return problems
    values = [p for p in problems if "is not in the spec" not in p and "no such operation" not in p]
    allowed = set(EMBY_UNDOCUMENTED)
    if version == "4.8" and sent.method == "POST" and sent.path == "/Library/VirtualFolders/Delete":
        allowed |= EMBY_48_LIBRARY_REMOVAL
    return values + [p for p in sdk if not any(f"parameter {name} " in p for name in allowed)]


def query_result_schema(flavor: str, method: str, spec_path: str, status: int) -> tuple[str, dict[str, Any]] | None:
    """Emby 4.9's ``…/Query`` routes (not in the 4.1.1 spec): a QueryResult of what the bare route lists."""
    if not spec_path.endswith("/Query") or spec_path in load_spec(flavor)["paths"]:
        return None
    found = response_schema(flavor, method, spec_path[: -len("/Query")], status)
    if found is None or found[1].get("type") != "array":
        return None
    return spec_path, {
        "type": "object",
        "required": ["Items", "TotalRecordCount"],
        "properties": {"Items": found[1], "TotalRecordCount": {"type": "integer"}},
    }


@pytest.mark.parametrize("variant", ["jellyfin", "emby-4.8", "emby-4.9"])
async def test_provider_requests_and_responses_match_the_real_servers(variant: str, tmp_path: Path) -> None:
    flavor, _, emby_version = variant.partition("-")
    shared_path(f"specs/{SPEC_FILES[flavor].name}")  # skips, or fails under CI, when it is missing
    sim = Simulator(
        flavor,  # type: ignore[arg-type]
        catalog=synthetic_catalog(30, 2),
        users=2,
        scan_duration_s=0.01,
        emby_version=emby_version or "4.8",
    )
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
        found = query_result_schema(flavor, method, spec_path, status)  # before /Users/{Id} can match /Users/Query
        if found is None:
            found = response_schema(flavor, method, spec_path, status)
        if found is None and flavor == "emby" and method == "POST" and re.fullmatch(r"/Playlists/\d+/Items", spec_path):
            found = ("/Playlists/{Id}/Items", EMBY_ADD_TO_PLAYLIST_RESULT)
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
    users_route = "GET /Users/Query" if variant == "emby-4.9" else "GET /Users"
    expected = {
        "GET /System/Info",
        users_route,
        "GET /ScheduledTasks",
        "POST /Collections",
        "POST /Playlists",
        "POST /Users/AuthenticateByName",
    }
    assert expected <= validated, validated
    assert len(validated) >= 14, validated

    problems = sorted(
        {
            problem
            for sent in recorder.sent
            for problem in (
                request_problems(flavor, sent) if flavor == "jellyfin" else emby_request_problems(sent, emby_version)
            )
        }
    )
    assert not problems, problems
    assert len(recorder.sent) >= 35, "the provider's calls were not all recorded"
