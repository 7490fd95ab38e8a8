"""Scoring a block of users at once (`scoring.score_block`) gives each user what scoring them alone gives: the same
candidates, the same component scores (up to float rounding of the batched products), and so the same picks in
the same order, on a small world with every kind of input the scoring reads."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from benchmarks.bench_recommend_server import GENRES
from sidecar.recommender import ItemFacts, Pick, PreparedModel, WatchEvent, Weights, prepare_model, recommend
from sidecar.recommender.picks import recommend_many
from sidecar.recommender.scoring import ToScore, score_block, score_candidates
from sidecar.recommender.taste import build_taste

FIELDS = ("taste", "quality", "novelty", "relevance")
ROUNDING = 1e-5  # z-scores: the taste product is float32, summed in another order for a block than for one user


def _world() -> tuple[PreparedModel, dict[str, list[WatchEvent]]]:
    """Movies and series in clusters, shared directors, duplicate copies, unknown years and unembedded titles;
    users with long, short, empty, unknown-only and half-watched histories."""
    rng = np.random.default_rng(11)
    n, dim = 900, 24
    clusters = rng.normal(size=(30, dim))
    cluster_of = rng.integers(0, 30, size=n)
    vectors = clusters[cluster_of] + 0.7 * rng.normal(size=(n, dim))
    vectors[::37] = 0.0  # not embedded yet
    items = [
        ItemFacts(
            item_id=f"i{i}",
            title=f"Title {i}",
            media_type="series" if i % 5 == 0 else "movie",
            year=None if i % 41 == 0 else int(1960 + (i * 7919) % 60),
            genres=() if i % 53 == 0 else (GENRES[cluster_of[i] % 12], GENRES[(cluster_of[i] // 12) % 12]),
            community_rating=None if i % 29 == 0 else float(np.clip(rng.normal(6.5, 1.0), 1, 10)),
            people=(f"director{cluster_of[i] % 17}", f"actor{i % 23}"),
            provider_ids={"tmdb": str(i if i % 97 else i - 1)},  # a few duplicate copies
        )
        for i in range(n)
    ]
    histories: dict[str, list[WatchEvent]] = {}
    for u in range(14):
        liked = np.flatnonzero(np.isin(cluster_of, rng.choice(30, size=2, replace=False)))
        chosen = rng.choice(liked, size=min(int(rng.integers(3, 60)), liked.size), replace=False)
        histories[f"u{u:02d}"] = [
            WatchEvent(
                f"i{int(i)}",
                last_played=1_700_000_000.0 + k * 3_600.0 if k % 9 else None,
                play_count=1 + k % 3,
                favourite=k % 7 == 0,
                played=k % 13 != 5,
                completion=0.6 if k % 13 == 5 else 1.0,
            )
            for k, i in enumerate(chosen)
        ]
    histories["empty"] = []
    histories["unknown titles only"] = [WatchEvent("gone1"), WatchEvent("gone2")]
    histories["one in progress"] = [WatchEvent("i3", played=False, position_fraction=0.3, completion=0.3)]
    return prepare_model(items, vectors, histories), histories


def _listed(picks: list[Pick]) -> list[tuple[object, ...]]:
    return [(p.item_id, p.rank, p.match_percent, p.matching_genres, p.new_genres, p.evidence) for p in picks]


@pytest.mark.parametrize("media_type", [None, "movie", "series"])
def test_a_block_scores_every_user_as_they_score_alone(media_type: str | None) -> None:
    model, histories = _world()
    weights = Weights(popularity=0.2)  # every term on
    users = sorted(histories)
    excluded = {users[1]: ("i10", "i11")}
    block = [ToScore(histories[u], build_taste(model, histories[u], 100), excluded.get(u, ())) for u in users]
    together = list(score_block(model, block, weights=weights, media_type=media_type))
    assert len(together) == len(users)
    for user, scored in zip(users, together, strict=True):
        alone = score_candidates(
            model, histories[user], weights=weights, media_type=media_type, exclude_ids=excluded.get(user, ())
        )
        assert np.array_equal(scored.candidates, alone.candidates), user
        for field in FIELDS:
            assert np.allclose(getattr(scored, field), getattr(alone, field), rtol=0, atol=ROUNDING), (user, field)
        assert (scored.cowatch is None) == (alone.cowatch is None), user
        if alone.cowatch is not None:
            assert np.allclose(scored.cowatch, alone.cowatch, rtol=0, atol=ROUNDING), user
        assert scored.spread == pytest.approx(alone.spread, abs=ROUNDING)
        assert (scored.profile is None) == (user in {"empty", "unknown titles only", "one in progress"})


@pytest.mark.parametrize(("batch_users", "workers"), [(1, 1), (4, 1), (64, 1), (3, 2)])
def test_recommend_many_gives_each_user_their_one_user_picks_in_the_same_order(batch_users: int, workers: int) -> None:
    model, histories = _world()
    weights = dataclasses.replace(Weights(), people=0.3)
    exclude = {"u03": ["i1", "i2", "i7"]}
    batched = dict(
        recommend_many(
            model, histories, weights=weights, count=20, exclude_ids=exclude, batch_users=batch_users, workers=workers
        )
    )
    assert sorted(batched) == sorted(histories)
    for user, history in histories.items():
        alone = recommend(model, history, weights=weights, count=20, exclude_ids=exclude.get(user, ()))
        assert len(alone) == 20
        assert _listed(batched[user]) == _listed(alone), user
        for a, b in zip(batched[user], alone, strict=True):
            for field in ("taste", "novelty", "quality", "variety", "final"):
                assert getattr(a.breakdown, field) == pytest.approx(getattr(b.breakdown, field), abs=2e-4), user
            assert (a.breakdown.cowatch is None) == (b.breakdown.cowatch is None)
