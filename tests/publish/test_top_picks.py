"""Top Picks: popularity from the server's plays, and the library, collection and playlist it publishes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from sidecar import runtime_settings as rs
from sidecar.db.models import AppUser, Item, MediaServer, PlayEvent, TopPick, WatchState
from sidecar.jobs.progress import Progress
from sidecar.publish.popularity import Popularity, popularity, rank_popular
from sidecar.publish.top_picks import refresh_top_picks_for
from sidecar.services import Services
from tests.publish.simulated import World, library_titles

NOW = datetime.now(UTC)
W = rs.TopPicksWeights


def test_ranking_normalises_and_weighs() -> None:
    stats = [
        Popularity(1, viewers=3, plays=3, completion=1.0),
        Popularity(2, viewers=2, plays=9, completion=0.5),
        Popularity(3, viewers=1, plays=20, completion=1.0),
    ]
    default = rank_popular(stats, W(), min_viewers=2, count=10)
    assert [r.stats.item_id for r in default] == [1, 2]
    assert default[0].score == pytest.approx(0.5 * 1 + 0.3 * 3 / 9 + 0.2 * 1.0)
    plays_only = rank_popular(stats, W(unique_viewers=0, play_count=1, completion=0), min_viewers=1, count=2)
    assert [r.stats.item_id for r in plays_only] == [3, 2]
    assert [r.rank for r in plays_only] == [1, 2]
    assert rank_popular(stats, W(), min_viewers=4, count=10) == []


def test_ranking_worked_example() -> None:
    """(Was the pure recommender's ``top_picks`` test; its arithmetic now checks the one production ranking.)"""
    x = Popularity(1, viewers=2, plays=4, completion=1.0)
    y = Popularity(2, viewers=3, plays=2, completion=2.5 / 3)
    solo = Popularity(3, viewers=1, plays=1, completion=1.0)
    ranked = rank_popular([x, y, solo], W(), min_viewers=2, count=10)
    # x: 0.5*2/3 + 0.3*4/4 + 0.2*1.0; y: 0.5*3/3 + 0.3*2/4 + 0.2*(2.5/3); solo has too few viewers
    assert [(r.stats.item_id, r.score) for r in ranked] == [(1, 0.833333), (2, 0.816667)]
    viewers_only = rank_popular([x, y, solo], W(unique_viewers=1, play_count=0, completion=0), min_viewers=2, count=10)
    assert viewers_only[0].stats.item_id == 2 and viewers_only[0].score == 1.0


async def _catalogue(services: Services) -> tuple[list[AppUser], list[Item], list[Item], dict[int, list[Item]]]:
    async with services.sessions() as session:
        server = MediaServer(kind="jellyfin", url="http://x", name="x")
        session.add(server)
        await session.commit()
        await session.refresh(server)
        sid = int(server.id or 0)
        users = [AppUser(server_id=sid, provider_id=f"u{i}", name=f"u{i}") for i in range(4)]
        movies = [
            Item(server_id=sid, provider_id=f"m{i}", kind="Movie", name=f"M{i}", runtime_ticks=100) for i in range(5)
        ]
        shows = [Item(server_id=sid, provider_id=f"s{i}", kind="Series", name=f"S{i}") for i in range(2)]
        session.add_all([*users, *movies, *shows])
        await session.commit()
        episodes: dict[int, list[Item]] = {}
        for index, show in enumerate(shows):
            episodes[index] = [
                Item(server_id=sid, provider_id=f"s{index}e{e}", kind="Episode", name=f"E{e}", series_id=show.id)
                for e in range(4 if index == 0 else 2)
            ]
            session.add_all(episodes[index])
        await session.commit()
        return users, movies, shows, episodes


def _event(user: AppUser, item: Item, *, days_ago: float = 1, completed: bool = True, position: int = 100) -> PlayEvent:
    return PlayEvent(
        user_id=user.id,
        item_id=item.id,
        kind="stop",
        at=NOW - timedelta(days=days_ago),
        completed=completed,
        position_ticks=position,
    )


async def test_popularity_from_events_and_watch_state(services: Services) -> None:
    users, movies, shows, episodes = await _catalogue(services)
    u0, u1, u2, u3 = users
    async with services.sessions() as session:
        session.add_all([_event(u, movies[0]) for u in (u0, u1, u2)])  # 3 viewers, finished
        session.add_all([_event(u0, movies[1], completed=False, position=50) for _ in range(4)])
        session.add(WatchState(user_id=u1.id, item_id=movies[1].id, completion=0.5, last_played_at=NOW))
        session.add(_event(u3, movies[2]))  # one viewer only
        session.add_all([_event(u, movies[3], days_ago=90) for u in (u0, u1)])  # outside the window
        session.add_all([_event(u0, ep) for ep in episodes[0]])  # u0 watched all of S0
        session.add(WatchState(user_id=u1.id, item_id=episodes[0][0].id, played=True, last_played_at=NOW))
        session.add_all([_event(u, episodes[1][0]) for u in (u2, u3)])
        await session.commit()
        since = NOW - timedelta(days=30)
        movie_stats = {s.item_id: s for s in await popularity(session, "movies", since)}
        series_stats = {s.item_id: s for s in await popularity(session, "series", since)}
    assert set(movie_stats) == {movies[0].id, movies[1].id, movies[2].id}
    assert (movie_stats[movies[0].id].viewers, movie_stats[movies[0].id].plays) == (3, 3)
    assert movie_stats[movies[0].id].completion == pytest.approx(1.0)
    assert (movie_stats[movies[1].id].viewers, movie_stats[movies[1].id].plays) == (2, 5)
    assert movie_stats[movies[1].id].completion == pytest.approx(0.5)
    s0, s1 = series_stats[shows[0].id], series_stats[shows[1].id]
    assert (s0.viewers, s0.plays, s0.completion) == (2, 5, pytest.approx((1.0 + 0.25) / 2))
    assert (s1.viewers, s1.plays, s1.completion) == (2, 2, pytest.approx(0.5))


async def _play(world: World, services: Services, plan: dict[int, int]) -> None:
    """``plan``: movie index -> how many different users watched it (to completion) yesterday."""
    users = list(world.users.values())
    async with services.sessions() as session:
        for index, viewers in plan.items():
            for user in users[:viewers]:
                session.add(_event(user, world.movies[index]))
        await session.commit()


@pytest.mark.slow
async def test_top_picks_library_collection_and_playlist_in_rank_order(world: World, services: Services) -> None:
    await _play(world, services, {4: 2, 9: 4, 1: 3, 6: 1})
    async with services.sessions() as session:
        await rs.save(
            session,
            rs.top_picks_key("movies"),
            rs.TopPicksSettings(outputs=rs.TopPicksOutputs(library=True, collection=True, playlist=True)),
        )
    bob = next(u for u in await world.server.list_users() if u.name == "bob")
    await world.server.set_user_folders(bob.id, enable_all_folders=False, enabled_folders=[world.sim.movies_library.id])

    result = await refresh_top_picks_for(services, "movies", Progress.detached())
    expected = [world.movies[i].name for i in (9, 1, 4)]  # 4, 3, 2 viewers; 1 viewer is below the minimum
    assert result.ranked == 3
    async with services.sessions() as session:
        stored = (await session.exec(select(TopPick).order_by(TopPick.rank))).all()  # type: ignore[arg-type]
    assert [t.item_id for t in stored] == [world.movies[i].id for i in (9, 1, 4)]

    library = next(lib for lib in await world.server.list_libraries() if lib.name == "Top Picks - Movies")
    for user in await world.server.list_users():
        assert await library_titles(world.server, library.id, "Movie", user.id) == expected, user.name
    assert result.collection_id is not None and result.playlist_id is not None
    members = await world.server.collection_items(result.collection_id)
    assert [m.name for m in members] == expected
    scanned = {m.id for m in members}
    assert not scanned & {world.movies[i].provider_id for i in (9, 1, 4)}  # the library's own items, not originals
    entries = await world.server.playlist_entries(result.playlist_id)
    assert [e.item_id for e in entries] == result.item_ids == [m.id for m in members]
    original = await world.server.get_item(world.movies[9].provider_id)
    assert not (original.forced_sort_name or "").startswith("0")  # real items' sort names are never rewritten

    await _play(world, services, {6: 4})  # a new favourite enters at the top
    again = await refresh_top_picks_for(services, "movies", Progress.detached())
    assert again.collection_id == result.collection_id and again.playlist_id == result.playlist_id
    top = [world.movies[i].name for i in (6, 9, 1, 4)]
    assert [m.name for m in await world.server.collection_items(again.collection_id or "")] == top
    assert [e.name for e in await world.server.playlist_entries(again.playlist_id or "")] == top


@pytest.mark.slow
async def test_top_picks_series_and_turning_outputs_off(world: World, services: Services) -> None:
    users = list(world.users.values())
    async with services.sessions() as session:
        episodes = {
            show.id: (await session.exec(select(Item).where(Item.series_id == show.id))).all() for show in world.series
        }
        for count, show in zip((2, 3), world.series[:2], strict=True):
            for user in users[:count]:
                session.add(_event(user, episodes[show.id][0]))
        symlinked = rs.TopPicksSettings(outputs=rs.TopPicksOutputs(library_mode="symlink"))
        await rs.save(session, rs.top_picks_key("series"), symlinked)
        await session.commit()
    result = await refresh_top_picks_for(services, "series", Progress.detached())
    library = next(lib for lib in await world.server.list_libraries() if lib.name == "Top Picks - Series")
    expected = [world.series[1].name, world.series[0].name]
    assert await library_titles(world.server, library.id, "Series", None) == expected
    assert result.library is not None and result.library.server_titles == 2
    async with services.sessions() as session:
        await rs.save(session, rs.top_picks_key("series"), rs.TopPicksSettings(enabled=False))
    await refresh_top_picks_for(services, "series", Progress.detached())
    assert "Top Picks - Series" not in {lib.name for lib in await world.server.list_libraries()}
