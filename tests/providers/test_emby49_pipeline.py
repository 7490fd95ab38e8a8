"""The whole pipeline — sync, embed, recommend, publish AI Picks, Top Picks with its playlist — against a simulated
Emby 4.9, which refuses ``GET /Users`` and lists users and libraries only through ``…/Query``."""

from __future__ import annotations

from pathlib import Path

import pytest

from providers.mediabrowser import EmbyServer
from providers.simulator import Simulator, serve_simulator, synthetic_catalog
from sidecar.demo_command import PIPELINE, _demo_top_picks, _opt_in_to_private_libraries
from sidecar.jobs.progress import Progress
from sidecar.jobs.registry import load_jobs
from sidecar.services import Services
from tests.embeddings.doubles import HashingEmbedder
from tests.providers.test_emby_versions import Paths


@pytest.mark.slow
async def test_the_pipeline_runs_on_emby_49(services: Services, tmp_path: Path) -> None:
    sim = Simulator(
        "emby",
        catalog=synthetic_catalog(40, 4, seed=11),
        users=["alice", "bob", "carol"],
        seed_history=True,
        media_root=tmp_path / "media",
        scan_duration_s=0.02,
        emby_version="4.9",
    )
    paths = Paths()
    async with serve_simulator(sim) as url:
        services.media_server = EmbyServer(url, sim.admin_api_key, http_transport=paths)
        services.embedder = HashingEmbedder(64)
        await _opt_in_to_private_libraries(services)
        await _demo_top_picks(services)
        jobs = load_jobs()
        for name in PIPELINE:
            result = await jobs[name].func(services, Progress.detached())
            assert result is not None, name
        await sim.wait_scans()
    assert paths.gets("/emby/Users") == [], "the provider asked Emby 4.9 for GET /Users"
    assert paths.gets("/emby/Users/Query") and set(paths.gets("/emby/Users/Query")) == {200}
    libraries = {lib.name: lib for lib in sim.libraries.values()}
    for user in ("alice", "bob", "carol"):
        for name in (f"AI Picks - {user}", f"AI Picks - {user} (Series)"):
            assert libraries[name].item_ids, f"{name} is empty"
            assert sim.user(user).policy["EnabledFolders"], f"{user} was not given explicit folders"
    assert libraries["Top Picks - Movies"].item_ids
    playlists = [i for i in sim.items.values() if i.type == "Playlist"]
    top = [p for p in playlists if p.name.startswith("Top Picks")]
    assert top, [p.name for p in playlists]
    assert all(sim.playlist_entries.get(p.id) for p in top), "a Top Picks playlist is empty"
    assert all(sim.users[str(p.owner_id)].is_admin for p in top)
