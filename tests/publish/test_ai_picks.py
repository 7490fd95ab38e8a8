"""AI Picks against the simulator over real HTTP, Jellyfin and Emby flavours."""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from sqlmodel import col, select, update

from providers.base import Library
from sidecar import runtime_settings as rs
from sidecar.db.models import AppUser, Item, JobRun, PublishedFile, PublishedLibrary, Recommendation
from sidecar.errors import JobError
from sidecar.followup import run_followups
from sidecar.jobs.progress import Progress
from sidecar.jobs.registry import load_jobs, wrap
from sidecar.publish import server_library
from sidecar.publish.ai_picks import publish_everyone, publish_for, secure_changed_user
from sidecar.publish.library import publish_library
from sidecar.publish.naming import ai_picks_folder
from sidecar.services import Services
from tests.publish.simulated import World, library_titles, set_picks

pytestmark = pytest.mark.slow


async def allow_conversion(services: Services, *, mode: str | None = None, convert: bool = True) -> None:
    async with services.sessions() as session:
        await rs.save(session, rs.PUBLISH, rs.PublishSettings(mode=mode, convert_all_folders_users=convert))  # type: ignore[arg-type]


async def library_named(world: World, name: str) -> Library | None:
    return next((lib for lib in await world.server.list_libraries() if lib.name == name), None)


async def test_each_user_sees_exactly_their_picks_in_rank_order(world: World, services: Services) -> None:
    await allow_conversion(services)
    alice, bob = world.users["alice"], world.users["bob"]
    alice_picks = [world.movies[i] for i in (7, 2, 11, 0, 5, 9)]
    bob_picks = [world.movies[i] for i in (3, 2, 14)]
    await set_picks(services, alice, "movies", alice_picks[::-1], age_s=60)  # an older run is ignored
    await set_picks(services, alice, "movies", alice_picks)
    await set_picks(services, bob, "movies", bob_picks)

    report = await publish_everyone(services, "movies", Progress.detached())
    assert not report.failures
    assert sorted(o.library for o in report.outcomes) == ["AI Picks - alice", "AI Picks - bob"]

    libs = {name: await library_named(world, f"AI Picks - {name}") for name in ("alice", "bob")}
    assert all(libs.values())
    expected = {"alice": [m.name for m in alice_picks], "bob": [m.name for m in bob_picks]}
    everyone = await world.server.list_users()
    for owner, lib in libs.items():
        assert lib is not None
        for user in everyone:
            seen = await library_titles(world.server, lib.id, "Movie", user.id)
            assert seen == (expected[owner] if user.name == owner else []), (owner, user.name)
    for user in everyone:  # nobody sees all folders any more; each list holds only their own AI Picks
        assert not user.enable_all_folders
        owned = {f"AI Picks - {user.name}"}
        visible_ai = {lib.name for lib in libs.values() if lib and lib.id in user.enabled_folders}
        assert visible_ai <= owned
    admin = next(u for u in everyone if u.name == "admin")
    assert {world.sim.movies_library.id, world.sim.shows_library.id} <= set(admin.enabled_folders)

    lib = libs["alice"]
    assert lib is not None
    pinned = await world.server.get_item(lib.id)
    assert (pinned.forced_sort_name or "").startswith("!!! ")

    root = services.settings.resolved_strm_root / ai_picks_folder(alice.provider_id, "movies")
    folders = sorted(os.listdir(root))
    assert len(folders) == len(alice_picks)
    first = next(f for f in folders if f.endswith(f"[{alice_picks[0].provider_id}]"))
    nfo = ET.parse(root / first / "movie.nfo").getroot()
    assert re.fullmatch(rf"\d{{7}} - {re.escape(alice_picks[0].name)}", nfo.findtext("sorttitle") or "")
    assert (nfo.findtext("plot") or "").startswith("Why we picked this: Because you watched things like it. #1")
    strm = next(p for p in (root / first).iterdir() if p.suffix == ".strm")
    assert strm.read_text().strip() == alice_picks[0].path
    assert any(p.name.startswith("poster.") for p in (root / first).iterdir())


@pytest.mark.filterwarnings("ignore::DeprecationWarning:sidecar.jobs.progress")
async def test_refuses_to_leak_to_all_folders_users_without_conversion(world: World, services: Services) -> None:
    await set_picks(services, world.users["alice"], "movies", world.movies[:3])
    spec = load_jobs()["sync-movie-libraries"]
    # An explained failure: the run fails with the reason (one log line, no traceback), the job returns it.
    outcome = await wrap(spec).coroutine({"services": services, "job_id": "t1"})  # type: ignore[attr-defined]
    assert re.search(r"Refusing to publish 'AI Picks - alice'.*admin.*bob.*carol", outcome["failed"])
    assert await library_named(world, "AI Picks - alice") is None
    async with services.sessions() as session:
        run = (await session.exec(select(JobRun).where(JobRun.job_name == "sync-movie-libraries"))).one()
    assert run.status == "failed" and "Refusing to publish" in (run.error or "")
    assert any("Refusing to publish" in line for line in run.log)


async def test_a_new_all_folders_user_makes_the_library_withdraw(world: World, services: Services) -> None:
    await allow_conversion(services)
    alice = world.users["alice"]
    await set_picks(services, alice, "movies", world.movies[:3])
    await publish_for(services, alice, "movies", Progress.detached())
    assert await library_named(world, "AI Picks - alice") is not None
    world.sim.add_user("dave", "pw")  # servers give new users access to all libraries
    await allow_conversion(services, convert=False)
    with pytest.raises(JobError, match="dave"):
        await publish_for(services, alice, "movies", Progress.detached())
    assert await library_named(world, "AI Picks - alice") is None
    await allow_conversion(services)
    await publish_for(services, alice, "movies", Progress.detached())
    lib = await library_named(world, "AI Picks - alice")
    assert lib is not None
    dave = next(u for u in await world.server.list_users() if u.name == "dave")
    assert await library_titles(world.server, lib.id, "Movie", dave.id) == []
    assert len(await library_titles(world.server, lib.id, "Movie", alice.provider_id)) == 3


async def test_a_user_created_later_is_secured_at_once(world: World, services: Services) -> None:
    """The UserCreated webhook's job: a new all-libraries user is converted before any publish runs."""
    await allow_conversion(services)
    alice = world.users["alice"]
    await set_picks(services, alice, "movies", world.movies[:3])
    await publish_for(services, alice, "movies", Progress.detached())
    lib = await library_named(world, "AI Picks - alice")
    assert lib is not None
    dave = world.sim.add_user("dave", "pw")  # servers give new users access to all libraries
    assert await secure_changed_user(services, alice.provider_id) is None  # nothing to do for alice
    await allow_conversion(services, convert=False)
    warning = await secure_changed_user(services, dave.id)
    assert warning is not None and "dave can see all libraries" in warning
    assert (await world.server.get_user(dave.id)).enable_all_folders
    await allow_conversion(services)
    assert "converted dave" in (await secure_changed_user(services, dave.id) or "")
    seen = await world.server.get_user(dave.id)
    assert not seen.enable_all_folders and lib.id not in seen.enabled_folders
    assert world.sim.movies_library.id in seen.enabled_folders
    assert await library_titles(world.server, lib.id, "Movie", dave.id) == []
    assert await secure_changed_user(services, dave.id) is None  # already explicit


async def test_republish_touches_only_changed_titles(world: World, services: Services) -> None:
    await allow_conversion(services)
    alice = world.users["alice"]
    picks = world.movies[:10]
    await set_picks(services, alice, "movies", picks)
    first = await publish_for(services, alice, "movies", Progress.detached())
    assert first is not None and first.written == 10 and first.scanned
    root = services.settings.resolved_strm_root / ai_picks_folder(alice.provider_id, "movies")
    keep = next(p for p in root.iterdir() if p.name.endswith(f"[{picks[0].provider_id}]"))
    inode = (keep / "movie.nfo").stat().st_ino

    changed = [*picks[:8], world.movies[20], world.movies[21]]
    await set_picks(services, alice, "movies", changed)
    second = await publish_for(services, alice, "movies", Progress.detached())
    assert second is not None
    assert (second.written, second.reused, second.removed) == (2, 8, 2)
    assert (keep / "movie.nfo").stat().st_ino == inode
    lib = await library_named(world, "AI Picks - alice")
    assert lib is not None
    assert await library_titles(world.server, lib.id, "Movie", alice.provider_id) == [m.name for m in changed]

    third = await publish_for(services, alice, "movies", Progress.detached())
    assert third is not None and not third.files_changed and not third.scanned
    async with services.sessions() as session:
        rows = (await session.exec(select(PublishedFile).order_by(PublishedFile.rank))).all()  # type: ignore[arg-type]
    assert [r.item_id for r in rows] == [m.id for m in changed]


async def set_steady_picks(services: Services, user: AppUser, items: list[Item]) -> None:
    """Picks whose explanations do not name their rank (``set_picks`` numbers them)."""
    run_id = await set_picks(services, user, "movies", items)
    async with services.sessions() as session:
        steady = update(Recommendation).where(col(Recommendation.run_id) == run_id)
        await session.exec(steady.values(explanation="Like what you watch."))
        await session.commit()


async def test_a_playback_rewrites_only_the_titles_that_changed_and_keeps_the_order(
    world: World, services: Services
) -> None:
    """Alice watched her #3; a new pick enters at #1 and #6 moves up to #2: three titles are written, the
    others keep their files (same inodes), and the server lists the library in the new pick order."""
    await allow_conversion(services)
    alice = world.users["alice"]
    picks = world.movies[:8]
    await set_steady_picks(services, alice, picks)
    first = await publish_for(services, alice, "movies", Progress.detached())
    assert first is not None and first.written == 8
    root = services.settings.resolved_strm_root / ai_picks_folder(alice.provider_id, "movies")
    inodes = {p.name: (p / "movie.nfo").stat().st_ino for p in root.iterdir()}

    after = [world.movies[20], picks[5], picks[0], picks[1], picks[3], picks[4], picks[6], picks[7]]
    await set_steady_picks(services, alice, after)
    second = await publish_for(services, alice, "movies", Progress.detached())
    assert second is not None
    assert (second.written, second.reused, second.removed) == (2, 6, 1)
    rewritten = sorted(p.name for p in root.iterdir() if inodes.get(p.name) != (p / "movie.nfo").stat().st_ino)
    assert len(rewritten) == 2
    assert all(any(name.endswith(f"[{m.provider_id}]") for m in (world.movies[20], picks[5])) for name in rewritten)
    lib = await library_named(world, "AI Picks - alice")
    assert lib is not None
    assert await library_titles(world.server, lib.id, "Movie", alice.provider_id) == [m.name for m in after]
    oldest_first = [
        item.name
        async for item in world.server.iter_items(
            ["Movie"], parent_id=lib.id, user_id=alice.provider_id, sort_by=("DateCreated",)
        )
    ]
    assert oldest_first == [m.name for m in after][::-1]  # "date added, newest first" is the pick order


async def test_a_title_rewritten_for_its_text_keeps_its_images_without_fetching_them(
    world: World, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sidecar.publish import artwork

    await allow_conversion(services)
    alice = world.users["alice"]
    picks = world.movies[:4]
    await set_steady_picks(services, alice, picks)
    await publish_for(services, alice, "movies", Progress.detached())
    root = services.settings.resolved_strm_root / ai_picks_folder(alice.provider_id, "movies")
    posters = {p.name: sorted(q.name for q in p.iterdir() if q.name.startswith("poster.")) for p in root.iterdir()}
    assert all(posters.values())

    fetched: list[str] = []
    real_fetch = world.server.fetch_image

    async def counting_fetch(item_id: str, **kwargs: object) -> object:
        fetched.append(item_id)
        return await real_fetch(item_id, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(world.server, "fetch_image", counting_fetch)
    monkeypatch.setattr(artwork, "_cache", artwork.ImageCache())  # nothing to be had from memory either
    await set_picks(services, alice, "movies", picks)  # new texts ("... #1"), same titles, same images
    second = await publish_for(services, alice, "movies", Progress.detached())
    assert second is not None and second.written == 4
    assert fetched == []
    assert {p.name: sorted(q.name for q in p.iterdir() if q.name.startswith("poster.")) for p in root.iterdir()} == (
        posters
    )
    nfo = ET.parse(next(root.iterdir()) / "movie.nfo").getroot()
    assert "#" in (nfo.findtext("plot") or "")


@pytest.mark.parametrize("mode", ["strm", "symlink"])
async def test_series_and_symlink_modes_scan(world: World, services: Services, mode: str) -> None:
    await allow_conversion(services, mode=mode)
    alice = world.users["alice"]
    await set_picks(services, alice, "movies", world.movies[:4])
    shows = world.series[::-1]
    await set_picks(services, alice, "series", shows)
    movies = await publish_for(services, alice, "movies", Progress.detached())
    series = await publish_for(services, alice, "series", Progress.detached())
    assert movies is not None and series is not None
    assert (movies.server_titles, series.server_titles) == (4, len(shows))
    movie_lib = await library_named(world, "AI Picks - alice")
    series_lib = await library_named(world, "AI Picks - alice (Series)")
    assert series_lib is not None
    assert movie_lib is not None
    assert await library_titles(world.server, movie_lib.id, "Movie", alice.provider_id) == [
        m.name for m in world.movies[:4]
    ]
    assert await library_titles(world.server, series_lib.id, "Series", alice.provider_id) == [s.name for s in shows]
    episodes = await world.server.count_items(["Episode"], parent_id=series_lib.id, user_id=alice.provider_id)
    assert episodes > len(shows)
    root = services.settings.resolved_strm_root / ai_picks_folder(alice.provider_id, "movies")
    sample = next(p for p in root.iterdir() if p.name.endswith(f"[{world.movies[0].provider_id}]"))
    show = next(p for p in (root.parent / "series").iterdir() if p.name.endswith(f"[{shows[0].provider_id}]"))
    if mode == "symlink":
        video = next(p for p in sample.iterdir() if p.suffix == ".mkv")
        assert video.is_symlink() and os.readlink(video) == world.movies[0].path
        assert not any(p.suffix == ".strm" for p in sample.iterdir())
        season = show / "Season 01"
        assert season.is_symlink() and os.readlink(season) == os.path.join(shows[0].path or "", "Season 01")
    else:
        assert (next(p for p in sample.iterdir() if p.suffix == ".strm")).read_text().strip() == world.movies[0].path
        assert any(p.suffix == ".strm" for p in (show / "Season 01").iterdir())


async def test_custom_name_renames_and_stale_libraries_go(world: World, services: Services) -> None:
    await allow_conversion(services)
    alice, bob = world.users["alice"], world.users["bob"]
    await set_picks(services, alice, "movies", world.movies[:3])
    await set_picks(services, bob, "movies", world.movies[3:6])
    await publish_everyone(services, "movies", Progress.detached())
    async with services.sessions() as session:
        row_alice = await session.get(AppUser, alice.id)
        row_bob = await session.get(AppUser, bob.id)
        assert row_alice is not None and row_bob is not None
        row_alice.movies_library_name = "Alice's Cinema"
        row_bob.movies_enabled = False
        session.add_all([row_alice, row_bob])
        await session.commit()
    report = await publish_everyone(services, "movies", Progress.detached())
    assert report.removed == ["AI Picks - bob"]
    names = {lib.name for lib in await world.server.list_libraries()}
    assert "Alice's Cinema" in names and "AI Picks - alice" not in names and "AI Picks - bob" not in names
    lib = await library_named(world, "Alice's Cinema")
    assert lib is not None
    assert await library_titles(world.server, lib.id, "Movie", alice.provider_id) == [m.name for m in world.movies[:3]]
    assert not (services.settings.resolved_strm_root / ai_picks_folder(bob.provider_id, "movies")).exists()
    async with services.sessions() as session:
        kinds = [(r.name, r.user_id) for r in (await session.exec(select(PublishedLibrary))).all()]
    assert kinds == [("Alice's Cinema", alice.id)]


async def test_wrong_path_prefix_is_a_clear_error(
    world: World, services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server_library, "EMPTY_GRACE_S", 0.3)  # the simulator's scans end in milliseconds
    await allow_conversion(services)
    alice = world.users["alice"]
    services.settings = services.settings.model_copy(update={"strm_path_prefix": "/srv/not-where-the-files-are"})
    await set_picks(services, alice, "movies", world.movies[:3])
    with pytest.raises(JobError, match=r"refused to create 'AI Picks - alice'.*MARQUEE_STRM_PATH_PREFIX"):
        await publish_for(services, alice, "movies", Progress.detached())
    async with services.sessions() as session:
        row = (await session.exec(select(PublishedLibrary))).one()
    assert row.status == "failed" and "MARQUEE_STRM_PATH_PREFIX" in (row.error or "")

    # the prefix names a folder the server has, but not the one Marquee writes: the scan finds nothing
    decoy = tmp_path / "decoy"
    (decoy / ai_picks_folder(alice.provider_id, "movies")).mkdir(parents=True)
    services.settings = services.settings.model_copy(update={"strm_path_prefix": str(decoy)})
    with pytest.raises(JobError, match=r"found none of the 3 titles.*MARQUEE_STRM_PATH_PREFIX"):
        await publish_for(services, alice, "movies", Progress.detached())


async def test_unwritable_root_fails_before_anything_is_written(
    world: World, services: Services, tmp_path: Path
) -> None:
    await allow_conversion(services)
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    services.settings = services.settings.model_copy(update={"strm_root": blocker / "libraries"})
    await set_picks(services, world.users["alice"], "movies", world.movies[:3])
    with pytest.raises(JobError, match="not writable"):
        await publish_for(services, world.users["alice"], "movies", Progress.detached())
    assert await library_named(world, "AI Picks - alice") is None


async def test_a_crash_mid_publish_leaves_the_previous_library(world: World, services: Services) -> None:
    await allow_conversion(services)
    alice = world.users["alice"]
    await set_picks(services, alice, "movies", world.movies[:5])
    await publish_for(services, alice, "movies", Progress.detached())
    root = services.settings.resolved_strm_root / ai_picks_folder(alice.provider_id, "movies")
    before = sorted(os.listdir(root))
    await set_picks(services, alice, "movies", world.movies[10:15])
    from sidecar.publish.ai_picks import _target

    target = await _target(services, alice, "movies")
    calls = 0

    def fault(step: str) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise OSError("disk vanished")

    picks = [(int(m.id or 0), None) for m in world.movies[10:15]]
    with pytest.raises(OSError, match="disk vanished"):
        await publish_library(services, target, picks, Progress.detached(), fault=fault)
    assert sorted(os.listdir(root)) == before
    lib = await library_named(world, "AI Picks - alice")
    assert lib is not None
    await world.server.refresh_library(lib.id)
    await world.server.wait_for_scan(library_id=lib.id)
    assert await library_titles(world.server, lib.id, "Movie", alice.provider_id) == [m.name for m in world.movies[:5]]
    after = await publish_for(services, alice, "movies", Progress.detached())
    assert after is not None and after.written == 5
    assert await library_titles(world.server, lib.id, "Movie", alice.provider_id) == [
        m.name for m in world.movies[10:15]
    ]


async def test_followup_republishes_only_that_user(world: World, services: Services) -> None:
    import sidecar.jobs.publish_jobs  # noqa: F401  (registers the stage)

    await allow_conversion(services)
    alice, bob = world.users["alice"], world.users["bob"]
    await set_picks(services, alice, "movies", world.movies[:3])
    await set_picks(services, bob, "movies", world.movies[3:6])
    ran = await run_followups(services, int(alice.id or 0), {"movies"}, Progress.detached())
    assert "publish" in ran
    names = {lib.name for lib in await world.server.list_libraries()}
    assert "AI Picks - alice" in names and "AI Picks - bob" not in names


async def test_streaming_url_mode_scans_and_warns(world: World, services: Services) -> None:
    from sidecar.publish.options import PUBLISH_FILES, PublishFileSettings

    await allow_conversion(services)
    async with services.sessions() as session:
        await rs.save(session, PUBLISH_FILES, PublishFileSettings(strm_content="stream_url", artwork=False))
    alice = world.users["alice"]
    await set_picks(services, alice, "movies", world.movies[:3])
    progress = Progress.detached()
    outcome = await publish_for(services, alice, "movies", progress)
    assert outcome is not None and outcome.server_titles == 3
    assert any("API key" in line for line in progress.lines)
    root = services.settings.resolved_strm_root / ai_picks_folder(alice.provider_id, "movies")
    strm = next(p for p in next(root.iterdir()).iterdir() if p.suffix == ".strm")
    assert strm.read_text().startswith(world.server.base_url) and world.sim.admin_api_key in strm.read_text()


async def test_concurrent_publishers_of_one_library_take_turns(world: World, services: Services) -> None:
    import asyncio

    await allow_conversion(services)
    alice = world.users["alice"]
    await set_picks(services, alice, "movies", world.movies[:6])
    first, second = await asyncio.gather(
        publish_for(services, alice, "movies", Progress.detached()),
        publish_for(services, alice, "movies", Progress.detached()),
    )
    assert first is not None and second is not None
    assert sorted([first.written, second.written]) == [0, 6]  # the second found the first's work done
    root = services.settings.resolved_strm_root / ai_picks_folder(alice.provider_id, "movies")
    assert len([p for p in root.parent.iterdir() if p.name.startswith(".movies.")]) == 1
    lib = await library_named(world, "AI Picks - alice")
    assert lib is not None
    assert await library_titles(world.server, lib.id, "Movie", alice.provider_id) == [m.name for m in world.movies[:6]]
