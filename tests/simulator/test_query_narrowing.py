"""The query engine's indexes for user-data filters (only the items the user has data for, or saved since the
date, are checked, plus series and seasons) answer exactly what checking every item answers, over random
histories of plays, marks, favourites, shared keys, item edits and removals."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from providers.simulator import Simulator, synthetic_catalog
from providers.simulator.catalog import CatalogMovie
from providers.simulator.model import SimUserData, utcnow
from providers.simulator.query import ItemQuery, QueryEngine


def _sim() -> Simulator:
    sim = Simulator(
        "jellyfin", catalog=synthetic_catalog(movies=60, series=3, seed=2), users=["ann", "bo"], seed_history=True
    )
    movies = [i for i in sim.items.values() if i.type == "Movie"]
    sim.set_favorite("bo", movies[0].id, notify=False)
    sim.mark_played("bo", movies[1].id, played=True, notify=False)
    sim.mark_played("bo", movies[2].id, played=False, notify=False)  # data saved, then un-marked
    sim.play("bo", movies[3].id, fraction=0.4)
    return sim


QUERIES = [
    {"isplayed": "true"},
    {"isplayed": "false"},
    {"isfavorite": "true"},
    {"isfavorite": "false"},
    {"filters": "IsResumable"},
    {"filters": "IsFavorite,IsPlayed"},
    {"filters": "IsUnplayed"},
    {"filters": "IsFavoriteOrLikes"},
    {"mindatelastsavedforuser": "1971-01-01T00:00:00Z"},
    {"mindatelastsavedforuser": "1969-01-01T00:00:00Z"},
    {"includeitemtypes": "Series", "isplayed": "true"},
    {"includeitemtypes": "Season,Episode", "filters": "IsPlayed"},
    {"includeitemtypes": "Movie,Episode", "isplayed": "true", "sortby": "DatePlayed", "sortorder": "Descending"},
    {"includeitemtypes": "Movie,Episode,Series", "isfavorite": "true"},
    {"includeitemtypes": "Movie,Series,Episode", "mindatelastsavedforuser": "1971-01-01T00:00:00Z"},
]


def _both(sim: Simulator, params: dict[str, str], user_name: str) -> tuple[list[str], list[str]]:
    query = ItemQuery.parse({"recursive": "true", **params}, sim.user(user_name), lambda i: i)
    return QueryEngine(sim).run(query), QueryEngine(sim, indexed=False).run(query)


@pytest.mark.parametrize("params", QUERIES, ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()))
@pytest.mark.parametrize("user_name", ["ann", "bo"])
def test_indexed_answer_equals_checking_every_item(params: dict[str, str], user_name: str) -> None:
    indexed, every = _both(_sim(), params, user_name)
    assert indexed == every


def _random_change(sim: Simulator, rng: random.Random) -> None:
    user = rng.choice(["ann", "bo"])
    playable = [i for i in sim.items.values() if i.type in ("Movie", "Episode")]
    item = rng.choice(playable)
    roll = rng.random()
    if roll < 0.25:
        sim.mark_played(user, item.id, played=rng.random() < 0.6, notify=False)
    elif roll < 0.4:
        folder = rng.choice([i for i in sim.items.values() if i.type in ("Series", "Season")])
        sim.mark_played(user, folder.id, played=rng.random() < 0.6, notify=False)
    elif roll < 0.55:
        target = rng.choice([item, *[i for i in sim.items.values() if i.type == "Series"]])
        sim.set_favorite(user, target.id, favorite=rng.random() < 0.6, notify=False)
    elif roll < 0.7:
        sim.play(user, item.id, fraction=rng.choice([0.02, 0.3, 0.6, 1.0]))
    elif roll < 0.78:  # a second copy of a movie shares its user data (same external ids)
        movie = rng.choice([i for i in sim.items.values() if i.type == "Movie"])
        ids = {k.lower(): v for k, v in movie.provider_ids.items()}
        sim.add_movie(
            CatalogMovie(
                f"copy-{rng.random()}", movie.name, movie.year, tmdb_id=ids.get("tmdb"), imdb_id=ids.get("imdb")
            ),
            notify=False,
        )
    elif roll < 0.84:  # an edit of the external ids moves the movie to another user-data key
        movie = rng.choice([i for i in sim.items.values() if i.type == "Movie"])
        other = rng.choice([i for i in sim.items.values() if i.type == "Movie"])
        movie.provider_ids = dict(other.provider_ids) if rng.random() < 0.5 else {"Tmdb": str(rng.randint(1, 10**6))}
        sim.items.mark_changed()
        sim.bump()
    elif roll < 0.9:
        sim.remove_item(item.id)
    elif roll < 0.95:  # stored directly, as some tests do, with an old save time
        sim.user_data[(sim.user(user).id, sim.data_key(item))] = SimUserData(
            played=True, play_count=1, last_saved=utcnow() - timedelta(minutes=rng.randint(0, 30))
        )
    else:
        key = rng.choice(list(sim.user_data)) if sim.user_data else None
        if key is not None:
            del sim.user_data[key]


@pytest.mark.parametrize("seed", range(8))
def test_indexed_answers_stay_equal_over_random_changes(seed: int) -> None:
    rng = random.Random(seed)
    sim = _sim()
    marks: list[datetime] = [utcnow() - timedelta(minutes=10)]
    for step in range(60):
        _random_change(sim, rng)
        if step % 10 == 0:
            marks.append(utcnow())
        if step % 6 == 5:
            since = rng.choice(marks).isoformat()
            queries = [
                *QUERIES,
                {"mindatelastsavedforuser": since},
                {"includeitemtypes": "Movie,Episode,Series", "mindatelastsavedforuser": since},
            ]
            for params in queries:
                for user_name in ("ann", "bo"):
                    indexed, every = _both(sim, params, user_name)
                    assert indexed == every, (params, user_name)


def test_saved_since_equals_filtering_every_entry() -> None:
    rng = random.Random(5)
    sim = _sim()
    marks = [utcnow()]
    for step in range(80):
        _random_change(sim, rng)
        if step % 8 == 0:
            marks.append(utcnow())
    for user_name in ("ann", "bo"):
        user_id = sim.user(user_name).id
        for since in [sim.epoch, *marks]:
            expected = {k for (u, k), d in sim.user_data.items() if u == user_id and d.last_saved >= since}
            assert sim.user_data.saved_since(user_id, since) == expected
        assert dict(sim.user_data.of_user(user_id)) == {k: d for (u, k), d in sim.user_data.items() if u == user_id}


def test_recent_saves_are_found_after_the_state_changes() -> None:
    sim = _sim()
    engine = QueryEngine(sim)
    since = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    ann = sim.user("ann")
    query = ItemQuery.parse({"recursive": "true", "mindatelastsavedforuser": since}, ann, lambda i: i)
    before = set(engine.run(query))
    movie = next(i for i in sim.items.values() if i.type == "Movie" and i.id not in before)
    sim.mark_played("ann", movie.id, played=True, notify=False)
    assert movie.id in engine.run(query)


def test_deleting_a_user_drops_their_data_from_the_indexes() -> None:
    sim = _sim()
    bo = sim.user("bo")
    assert sim.user_data.of_user(bo.id)
    sim.delete_user(bo.id)
    assert not sim.user_data.of_user(bo.id)
    assert not sim.user_data.saved_since(bo.id, sim.epoch)
    assert all(u != bo.id for u, _ in sim.user_data)


async def test_resume_lists_what_checking_every_item_lists() -> None:
    rng = random.Random(11)
    sim = _sim()
    for _ in range(60):
        _random_change(sim, rng)
    for user_name in ("ann", "bo"):
        user = sim.user(user_name)
        sim.play(user_name, rng.choice([i for i in sim.items.values() if i.type == "Movie"]).id, fraction=0.5)
        resumable = {
            k: d.last_played or sim.epoch
            for (u, k), d in sim.user_data.items()
            if u == user.id and d.position_ticks > 0 and not d.played
        }
        every = [
            i for i in sim.items.values() if not i.is_folder and i.source_id is None and sim.data_key(i) in resumable
        ]
        every.sort(key=lambda i: resumable[sim.data_key(i)], reverse=True)
        transport = httpx.ASGITransport(app=sim.app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://sim", headers={"X-Emby-Token": sim.admin_api_key}
        ) as http:
            response = await http.get(f"/Users/{user.id}/Items/Resume", params={"Limit": 1000})
        assert response.status_code == 200
        assert [i["Id"] for i in response.json()["Items"]] == [i.id for i in every]
        assert every
