"""Histories as the recommender sees them: movies with progress, series rolled up from episodes."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from sidecar.picks_store.inputs import load_user_history, started_series
from sidecar.picks_store.refresh import refresh_user_picks
from sidecar.services import Services
from tests.embeddings.doubles import HashingEmbedder
from tests.recommendations.catalogue import NOW, watch
from tests.recommendations.conftest import World


async def test_movie_history_carries_progress_and_favourites(world: World) -> None:
    s, services = world.seeded, world.services
    await watch(services.engine, s.users["bob"], s.items["Dark Cellar"], played=False, completion=0.4, favourite=True)
    events = {e.item_id: e for e in await load_user_history(services, s.users["bob"], "movies")}
    cellar = events[str(s.items["Dark Cellar"])]
    assert not cellar.played and cellar.favourite and abs(cellar.position_fraction - 0.4) < 1e-6
    assert events[str(s.items["Paris Love"])].played and events[str(s.items["Paris Love"])].completion == 1.0
    ordered = await load_user_history(services, s.users["alice"], "movies")
    assert [e.last_played or 0 for e in ordered] == sorted(e.last_played or 0 for e in ordered)


async def test_series_roll_up_with_and_without_a_series_row(world: World) -> None:
    s, services = world.seeded, world.services
    alice = s.users["alice"]
    history = {e.item_id: e for e in await load_user_history(services, alice, "series")}
    crew, patrol = history[str(s.items["Deep Space Crew"])], history[str(s.items["Space Patrol"])]
    assert crew.played and crew.completion == 1.0 and crew.play_count == 3
    assert not patrol.played and patrol.completion == 0.25 and patrol.position_fraction == 1.0
    assert set(started_series(history.values())) == {str(s.items["Deep Space Crew"]), str(s.items["Space Patrol"])}

    # sync's own roll-up writes series rows from the same episodes: nothing may be counted twice
    async with services.engine.begin() as conn:
        for title, played, plays, completion in (("Deep Space Crew", True, 3, 1.0), ("Space Patrol", False, 1, 0.25)):
            await conn.execute(
                text(
                    "INSERT INTO watch_state (user_id, item_id, played, play_count, is_favorite, position_ticks,"
                    " completion) VALUES (:u, :i, :p, :c, false, 0, :comp)"
                ),
                {"u": alice, "i": s.items[title], "p": played, "c": plays, "comp": completion},
            )
        # a series marked favourite on the server, never watched
        await conn.execute(
            text(
                "INSERT INTO watch_state (user_id, item_id, played, play_count, is_favorite, position_ticks,"
                " completion) VALUES (:u, :i, false, 0, true, 0, 0)"
            ),
            {"u": alice, "i": s.items["Outlaw Trail"]},
        )
    again = {e.item_id: e for e in await load_user_history(services, alice, "series")}
    assert again[str(s.items["Deep Space Crew"])] == crew
    assert again[str(s.items["Space Patrol"])] == patrol
    outlaw = again[str(s.items["Outlaw Trail"])]
    assert outlaw.favourite and not outlaw.played and outlaw.position_fraction == 0.0


async def test_series_roll_up_takes_the_newest_episode_and_an_episode_favourite(world: World) -> None:
    """(Was the pure ``rollup_series_history`` test; the roll-up the recommender reads is this one.)"""
    s, services = world.seeded, world.services
    alice = s.users["alice"]
    patrol_id = str(s.items["Space Patrol"])
    await watch(services.engine, alice, s.episodes["Space Patrol"][1], days_ago=0.5, played=False, completion=0.3)
    await watch(services.engine, alice, s.episodes["Space Patrol"][2], days_ago=1.5, favourite=True)
    history = {e.item_id: e for e in await load_user_history(services, alice, "series")}
    patrol = history[patrol_id]
    assert (patrol.played, patrol.completion, patrol.position_fraction, patrol.favourite) == (False, 0.5, 1.0, True)
    assert patrol.last_played == (NOW - timedelta(days=0.5)).timestamp()
    crew = history[str(s.items["Deep Space Crew"])]
    assert (crew.played, crew.completion, crew.last_played) == (True, 1.0, (NOW - timedelta(days=5)).timestamp())


async def test_users_that_left_the_server_have_no_history(world: World) -> None:
    s, services = world.seeded, world.services
    async with services.engine.begin() as conn:
        await conn.execute(text("UPDATE app_user SET gone_at = now() WHERE id = :u"), {"u": s.users["carol"]})
    assert await load_user_history(services, s.users["carol"], "movies") == []


async def test_an_empty_server_stores_an_empty_list(services: Services) -> None:
    services.embedder = HashingEmbedder(8)
    async with services.engine.begin() as conn:
        await conn.execute(
            text("INSERT INTO media_server (kind, url, name, settings) VALUES ('jellyfin','u','s','{}')")
        )
        user = (
            await conn.execute(
                text(
                    "INSERT INTO app_user (server_id, provider_id, name, is_admin, is_disabled, enable_all_folders,"
                    " movies_enabled, series_enabled) VALUES (1, 'u', 'u', false, false, true, true, true) RETURNING id"
                )
            )
        ).scalar_one()
    result = await refresh_user_picks(services, user, "series")
    assert result.picks == 0 and result.candidates == 0
