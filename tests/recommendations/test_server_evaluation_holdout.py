"""The hold-out of ``marquee evaluate --server``: which plays are held out, and that none of them reaches the
numbers the rankings are built from (the user's own history, co-watch, viewer counts). Pure: no database."""

from __future__ import annotations

import numpy as np

from sidecar.media_types import MediaType
from sidecar.picks_store.config import RecommendationConfig
from sidecar.recommender import ItemFacts, WatchEvent, Weights, prepare_model
from sidecar.server_evaluation import (
    hold_out,
    popularity_ranking,
    rank_users,
    rebuild_model,
    split_user,
)

DAY = 86400.0


def play(item: str, day: float, **kw: object) -> WatchEvent:
    return WatchEvent(item_id=item, last_played=day * DAY, **kw)  # type: ignore[arg-type]


def test_the_last_plays_are_held_out_and_nothing_after_the_cut_stays() -> None:
    events = [
        play("a", 1),
        play("b", 2),
        WatchEvent(item_id="undated", last_played=None),  # seen, date unknown: history, never held out
        play("started-early", 2.5, played=False, completion=0.2, position_fraction=0.2),
        play("c", 3),
        play("started-late", 3.5, played=False, completion=0.2, position_fraction=0.2),  # after the cut
        play("d", 4),
        play("fav-late", 4.5, played=False, completion=0.0, favourite=True),  # after the cut, not a play
        play("e", 5),
    ]
    split = split_user(list(reversed(events)), holdout=3)
    assert split.held_out == ["c", "d", "e"]
    assert [e.item_id for e in split.history] == ["undated", "a", "b", "started-early"]
    assert split.plays == 3  # undated, a, b
    assert split_user(events, holdout=9).held_out == []  # too few plays: nothing held out


def test_only_evaluated_users_with_enough_plays_are_cut() -> None:
    long = [play(f"m{k}", k) for k in range(8)]
    short = [play(f"m{k}", k) for k in range(4)]
    held = hold_out({"1": long, "2": short, "3": long}, ["1", "2"], holdout=3, min_history=4)
    assert held.tests == {"1": ["m5", "m6", "m7"]}
    assert [e.item_id for e in held.histories["1"]] == ["m0", "m1", "m2", "m3", "m4"]
    assert held.histories["2"] == short and held.histories["3"] == long  # not cut: whole
    assert held.plays == {"1": 5, "2": 4, "3": 8}
    unknown = hold_out(
        {"1": [*long, play("gone", 99)]}, ["1"], holdout=3, min_history=4, known={f"m{k}": k for k in range(8)}
    )
    assert unknown.tests == {"1": ["m5", "m6", "m7"]}  # a title outside the catalogue is never held out


def _catalogue(n: int) -> tuple[list[ItemFacts], np.ndarray]:
    items = [ItemFacts(item_id=f"m{k}", title=f"Movie {k}", genres=("Drama",), community_rating=6.0) for k in range(n)]
    rng = np.random.default_rng(3)
    return items, rng.normal(size=(n, 16)).astype(np.float32)


def test_held_out_plays_reach_neither_viewer_counts_nor_co_watch() -> None:
    """Every user's last play is the same title "m0" that nobody watched before: with leakage, popularity and
    co-watch would find it for everyone; without, it has no viewers and nothing links to it."""
    items, vectors = _catalogue(40)
    histories = {str(u): [play(f"m{1 + (u * 3 + k) % 39}", k) for k in range(6)] + [play("m0", 10)] for u in range(12)}
    full = prepare_model(items, vectors, histories)
    assert full.viewers[full.index["m0"]] == 12  # the leak this guards against

    held = hold_out(histories, list(histories), holdout=1, min_history=5)
    assert held.tests == {u: ["m0"] for u in histories}
    model = rebuild_model(full, held.histories)
    assert model.viewers[model.index["m0"]] == 0
    assert model.cowatch is not None
    for user in histories:
        taste = model.indices([e.item_id for e in held.histories[user]])
        cowatch = model.cowatch.scores(taste, np.ones(taste.size, dtype=np.float32), model.size)
        assert cowatch[model.index["m0"]] == 0.0
        assert "m0" not in popularity_ranking(model, held.histories[user])[:10]
        assert "m0" in popularity_ranking(full, held.histories[user])[:1]  # the leaky model would rank it first

    config = RecommendationConfig(weights=Weights(), count=20, recent_limit=100)
    scores = list(rank_users(model, held, config, MediaType.MOVIES))
    assert len(scores) == 12
    assert all(s.hits10["popularity"] == 0 and s.ndcg10["popularity"] == 0.0 for s in scores)
    assert all(0.0 <= s.ndcg10[m] <= 1.0 for s in scores for m in s.ndcg10)
