"""The query engine's shortcut for user-data filters (only items the user has data for are checked, plus
series and seasons) answers exactly what checking every item answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from providers.simulator import Simulator, synthetic_catalog
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
    {"mindatelastsavedforuser": "1971-01-01T00:00:00Z"},
    {"mindatelastsavedforuser": "1969-01-01T00:00:00Z"},
    {"includeitemtypes": "Series", "isplayed": "true"},
    {"includeitemtypes": "Movie,Episode,Series", "isfavorite": "true"},
]


@pytest.mark.parametrize("params", QUERIES, ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()))
@pytest.mark.parametrize("user_name", ["ann", "bo"])
def test_narrowed_answer_equals_checking_every_item(params: dict[str, str], user_name: str) -> None:
    sim = _sim()
    user = sim.user(user_name)
    query = ItemQuery.parse({"recursive": "true", **params}, user, lambda i: i)
    engine = QueryEngine(sim)
    visible = engine.visible_libraries(user)
    every = [i.id for i in engine._candidates(query) if engine._matches(i, query, visible)]
    narrowed = [i.id for i in engine._narrowed(engine._candidates(query), query) if engine._matches(i, query, visible)]
    assert narrowed == every


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
