from __future__ import annotations

import os
from pathlib import Path

import pytest

from providers.errors import ProviderNotFound, ProviderResponseError, ScanTimeout
from providers.simulator.model import SimItem
from tests.providers.conftest import Served


def write_movie(root: Path, movie: SimItem, rank: int, *, mode: str) -> Path:
    folder = root / f"{movie.name} ({movie.year}) [{movie.id}]"
    folder.mkdir(parents=True)
    if mode == "strm":
        (folder / f"{movie.name}.strm").write_text(f"{movie.path}\n")
    else:
        os.symlink(movie.path or "", folder / f"{movie.name}.mkv")
    uniqueids = "".join(f'<uniqueid type="{k.lower()}">{v}</uniqueid>' for k, v in movie.provider_ids.items())
    (folder / f"{movie.name}.nfo").write_text(
        f"<?xml version='1.0' encoding='utf-8'?><movie><title>{movie.name}</title>"
        f"<sorttitle>{rank:02d} - {movie.name}</sorttitle><year>{movie.year}</year>"
        f"<plot>Picked because you liked things.</plot>{uniqueids}</movie>"
    )
    return folder


@pytest.mark.parametrize("mode", ["strm", "symlink"])
async def test_published_folder_scans_into_ranked_items(served: Served, tmp_path: Path, mode: str) -> None:
    provider, sim = served.provider, served.sim
    root = tmp_path / "picks"
    root.mkdir()
    originals = [i for i in sim.items.values() if i.type == "Movie"][:5]
    ranked = list(reversed(originals))
    for rank, movie in enumerate(ranked, start=1):
        write_movie(root, movie, rank, mode=mode)

    library = await provider.create_library("AI Picks - alice", "movies", [str(root)])
    assert library.locations == [str(root)] and library.collection_type == "movies"
    assert await provider.count_items(parent_id=library.id) == 0
    await provider.refresh_library()
    state = await provider.wait_for_scan(timeout_s=10)
    assert not state.running and state.last_status == "Completed"

    items = [i async for i in provider.iter_items(["Movie"], parent_id=library.id, sort_by=["SortName"])]
    assert [i.name for i in items] == [m.name for m in ranked]
    assert [i.forced_sort_name for i in items] == [f"{n:02d} - {m.name}" for n, m in enumerate(ranked, start=1)]
    assert all(i.overview == "Picked because you liked things." for i in items)
    for item, original in zip(items, ranked, strict=True):
        assert item.id != original.id
        assert item.provider_ids == original.provider_ids
        assert item.genres == original.genres  # filled from the original, like a metadata provider
        assert item.path and item.path.startswith(str(root))

    # Playing the copy marks the original as played (user data follows the external ids).
    alice = served.user_id("alice")
    await provider.mark_played(alice, items[0].id)
    assert (await provider.get_user_data(alice, [ranked[0].id]))[ranked[0].id].played

    # Rescan after a title is removed: the item goes, the others keep their ids.
    for child in root.iterdir():
        if child.name.endswith(f"[{ranked[-1].id}]"):
            for f in child.iterdir():
                f.unlink()
            child.rmdir()
    await provider.refresh_library(library.id)
    await provider.wait_for_scan(timeout_s=10, library_id=library.id)
    again = [i async for i in provider.iter_items(["Movie"], parent_id=library.id, sort_by=["SortName"])]
    assert [i.id for i in again] == [i.id for i in items[:-1]]


async def test_series_library_scan(served: Served, tmp_path: Path) -> None:
    provider, sim = served.provider, served.sim
    show = next(i for i in sim.items.values() if i.type == "Series")
    root = tmp_path / "shows"
    folder = root / f"{show.name} ({show.year})"
    folder.mkdir(parents=True)
    (folder / "tvshow.nfo").write_text(
        f"<tvshow><title>{show.name}</title><sorttitle>01 - {show.name}</sorttitle></tvshow>"
    )
    season = sim.items[show.children[0]]
    os.symlink(season.path or "", folder / "Season 01")
    library = await provider.create_library("AI Picks Series", "tvshows", [str(root)], refresh=True)
    await provider.wait_for_scan(timeout_s=10, library_id=library.id)
    series = [s async for s in provider.iter_items(["Series"], parent_id=library.id)]
    assert [s.name for s in series] == [show.name] and series[0].provider_ids == show.provider_ids
    episodes = [e async for e in provider.iter_items(["Episode"], parent_id=library.id)]
    assert len(episodes) == len(season.children)
    assert all(e.series_id == series[0].id and e.parent_index_number == 1 for e in episodes)


async def test_library_lifecycle_and_options(served: Served, tmp_path: Path) -> None:
    provider = served.provider
    (tmp_path / "x").mkdir()
    library = await provider.create_library(
        "Extra", "movies", [str(tmp_path / "x")], options={"EnableRealtimeMonitor": False}
    )
    assert library.options["EnableRealtimeMonitor"] is False
    await provider.update_library_options(library.id, {"SaveLocalMetadata": True})
    updated = next(lib for lib in await provider.list_libraries() if lib.id == library.id)
    assert updated.options["SaveLocalMetadata"] is True
    assert updated.options["EnableRealtimeMonitor"] is False  # untouched options survive
    assert updated.options["PathInfos"] == [{"Path": str(tmp_path / "x")}]
    await provider.delete_library("Extra")
    assert "Extra" not in {lib.name for lib in await provider.list_libraries()}
    with pytest.raises(ProviderNotFound):
        await provider.delete_library("Extra")
    with pytest.raises(ProviderNotFound):
        await provider.update_library_options(library.id, {})


async def test_library_on_a_missing_path_is_refused(served: Served, tmp_path: Path) -> None:
    with pytest.raises(ProviderResponseError, match="path does not exist"):
        await served.provider.create_library("Nowhere", "movies", [str(tmp_path / "missing")])


async def test_scan_timeout(served: Served) -> None:
    served.sim.scan_duration_s = 1.0
    await served.provider.refresh_library()
    assert (await served.provider.scan_state()).running
    with pytest.raises(ScanTimeout, match="still scanning"):
        await served.provider.wait_for_scan(timeout_s=0.2)
    assert (await served.provider.wait_for_scan(timeout_s=5)).last_status == "Completed"
