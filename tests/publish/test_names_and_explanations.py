"""What users and admins name and choose reaches the media server: the effective "why we picked this" in every
NFO, a user's renamed library through a republish-only follow-up, and a custom Top Picks name on the library,
the collection and the playlist. Against the simulator over real HTTP (Jellyfin and Emby flavours)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sidecar import runtime_settings as rs
from sidecar.db.models import AppUser, PlayEvent
from sidecar.followup import run_followups
from sidecar.jobs.progress import Progress
from sidecar.jobs.publish_jobs import publish_followup
from sidecar.publish.ai_picks import publish_everyone
from sidecar.publish.naming import PIN_PREFIX, ai_picks_folder
from sidecar.publish.nfo import WHY_HEADING
from sidecar.publish.top_picks import refresh_top_picks_for
from sidecar.services import Services
from tests.publish.simulated import World, library_titles, set_picks

pytestmark = pytest.mark.slow


async def _settings(services: Services, *, explanations_on: bool) -> None:
    async with services.sessions() as session:
        await rs.save(session, rs.PUBLISH, rs.PublishSettings(convert_all_folders_users=True))
        await rs.save(session, rs.EXPLANATIONS, rs.ExplanationSettings(enabled=explanations_on))


async def _update(services: Services, user: AppUser, **fields: object) -> None:
    async with services.sessions() as session:
        row = await session.get(AppUser, user.id)
        assert row is not None
        for key, value in fields.items():
            setattr(row, key, value)
        session.add(row)
        await session.commit()


def _plots(services: Services, user: AppUser) -> list[str]:
    root = services.settings.resolved_strm_root / ai_picks_folder(user.provider_id, "movies")
    return [ET.parse(nfo).getroot().findtext("plot") or "" for nfo in sorted(root.glob("*/movie.nfo"))]


async def test_every_nfo_follows_the_effective_explanation_setting(world: World, services: Services) -> None:
    await _settings(services, explanations_on=False)
    alice, bob, carol = world.users["alice"], world.users["bob"], world.users["carol"]
    await _update(services, alice, may_override_explanations=True, show_explanations=True)  # granted: "always"
    await _update(services, bob, show_explanations=True)  # a stale "always" without the grant
    for user in (alice, bob, carol):
        await set_picks(services, user, "movies", world.movies[:12])

    report = await publish_everyone(services, "movies", Progress.detached())
    assert not report.failures
    alice_plots, bob_plots, carol_plots = (_plots(services, u) for u in (alice, bob, carol))
    assert len(alice_plots) == len(bob_plots) == len(carol_plots) == 12
    assert all(p.startswith(f"{WHY_HEADING} Because you watched things like it. #") for p in alice_plots)
    assert not any(WHY_HEADING in p for p in bob_plots + carol_plots)

    # the admin turns the global toggle on: carol and bob follow it, alice's own choice still wins when "never"
    await _settings(services, explanations_on=True)
    await _update(services, alice, show_explanations=False)
    await publish_everyone(services, "movies", Progress.detached())
    assert not any(WHY_HEADING in p for p in _plots(services, alice))
    assert all(WHY_HEADING in p for p in _plots(services, bob) + _plots(services, carol))


async def test_a_republish_request_renames_the_library_without_recomputing(world: World, services: Services) -> None:
    await _settings(services, explanations_on=True)
    alice = world.users["alice"]
    await set_picks(services, alice, "movies", world.movies[:4])
    await publish_everyone(services, "movies", Progress.detached())
    before = {lib.name: lib for lib in await world.server.list_libraries()}
    assert "AI Picks - alice" in before

    await _update(services, alice, movies_library_name="Alice's Saloon")
    recomputed: list[frozenset[str]] = []

    async def recommend(services: Services, user_id: int, types: frozenset[str], progress: Progress) -> None:
        recomputed.append(types)

    stages = (("recommend", recommend), ("publish", publish_followup))
    ran = await run_followups(services, int(alice.id or 0), {"publish:movies"}, Progress.detached(), stages)
    assert ran == ["publish"] and recomputed == []
    names = {lib.name for lib in await world.server.list_libraries()}
    assert "Alice's Saloon" in names and "AI Picks - alice" not in names
    renamed = next(lib for lib in await world.server.list_libraries() if lib.name == "Alice's Saloon")
    assert await library_titles(world.server, renamed.id, "Movie", alice.provider_id) == [
        m.name for m in world.movies[:4]
    ]
    # a full request (a watch changed) still recomputes, then publishes
    ran = await run_followups(services, int(alice.id or 0), {"movies", "publish:movies"}, Progress.detached(), stages)
    assert ran == ["recommend", "publish"] and recomputed == [frozenset({"movies"})]


async def test_a_custom_top_picks_name_renames_library_collection_and_playlist(
    world: World, services: Services, tmp_path: Path
) -> None:
    users = list(world.users.values())
    async with services.sessions() as session:
        for index, viewers in {3: 3, 5: 2}.items():
            for user in users[:viewers]:
                session.add(
                    PlayEvent(
                        user_id=user.id,
                        item_id=world.movies[index].id,
                        kind="stop",
                        at=datetime.now(UTC) - timedelta(days=1),
                        completed=True,
                        position_ticks=100,
                    )
                )
        await session.commit()
    outputs = rs.TopPicksOutputs(library=True, collection=True, playlist=True)
    async with services.sessions() as session:
        await rs.save(session, rs.top_picks_key("movies"), rs.TopPicksSettings(outputs=outputs))
    first = await refresh_top_picks_for(services, "movies", Progress.detached())
    assert first.collection_id and first.playlist_id

    async with services.sessions() as session:
        renamed = outputs.model_copy(update={"name": "Saloon Favourites"})
        await rs.save(session, rs.top_picks_key("movies"), rs.TopPicksSettings(outputs=renamed))
    second = await refresh_top_picks_for(services, "movies", Progress.detached())

    libraries = {lib.name for lib in await world.server.list_libraries()}
    assert "Saloon Favourites" in libraries and "Top Picks - Movies" not in libraries
    collections = {c.id: c.name for c in await world.server.list_collections()}
    assert second.collection_id == first.collection_id  # renamed in place, same items
    assert collections[first.collection_id] == "Saloon Favourites"
    assert "Top Picks - Movies" not in collections.values()
    playlist = await world.server.get_item(first.playlist_id)
    assert second.playlist_id == first.playlist_id and playlist.name == "Saloon Favourites"
    assert playlist.forced_sort_name == PIN_PREFIX + "Saloon Favourites"
    expected = [world.movies[i].name for i in (3, 5)]
    assert [m.name for m in await world.server.collection_items(first.collection_id)] == expected
    assert [e.name for e in await world.server.playlist_entries(first.playlist_id)] == expected
