"""Match % calibrated on later watches: the fit, its prior, the spread and the new-user fallback."""

from __future__ import annotations

import random

import numpy as np

from sidecar.recommender import Weights, recommend, recommend_many
from sidecar.recommender.match import (
    MIN_SEPARATION,
    PRIOR,
    PRIOR_SEPARATION,
    MatchCalibration,
    MatchScale,
    percent_for,
)
from sidecar.recommender.match_fit import fit_match_calibration, later_watch_scores, sample_users
from tests.recommender.builders import build, direction, item, watched

GENRES = ("Horror", "Comedy", "Drama", "Western")


def genre_world(per_genre: int = 40, users: int = 12, seed: int = 3):  # type: ignore[no-untyped-def]
    """A catalogue of four genre clusters and users who each mostly watch one genre, in time order."""
    rng = random.Random(seed)
    entries = []
    for g, genre in enumerate(GENRES):
        for k in range(per_genre):
            entries.append(
                (
                    item(f"{genre[0]}{k}", [genre], year=1980 + k % 40, rating=5.0 + (k * 7 % 40) / 10),
                    direction(g, 0.03 * (k % 9 + 1), towards=4 + k % 4),
                )
            )
    histories = {}
    for u in range(users):
        genre = GENRES[u % len(GENRES)]
        own = [f"{genre[0]}{k}" for k in rng.sample(range(per_genre), 8)]
        stray = [f"{GENRES[(u + 1) % 4][0]}{rng.randrange(per_genre)}"]
        histories[f"u{u:02d}"] = watched(*(stray + own))  # the stray title first: the latest is in genre
    return build(entries, histories), histories


def test_later_watches_of_predictable_users_score_well_above_the_catalogue_average() -> None:
    model, histories = genre_world()
    scores = later_watch_scores(model, histories, weights=Weights(), media_type="movie")
    assert len(scores) == len(histories)
    assert np.mean(scores) > 0.8  # the last title is usually in the user's genre
    fitted = MatchCalibration.fit(scores)
    assert fitted.watches == len(scores) and fitted.observed is not None
    assert fitted.separation > PRIOR_SEPARATION  # pulled up from the prior by the evidence


def test_the_prior_dominates_a_small_server_and_the_floor_keeps_a_spread() -> None:
    assert MatchCalibration.fit([]) == PRIOR
    few = MatchCalibration.fit([3.0, 3.0])
    many = MatchCalibration.fit([3.0] * 300)
    assert PRIOR_SEPARATION < few.separation < many.separation
    random_server = MatchCalibration.fit([-0.5] * 400)  # later watches no better than chance
    assert random_server.separation == MIN_SEPARATION
    scale = MatchScale.fit(np.linspace(-3, 3, 500), random_server)
    assert len({scale.percent(x) for x in (1.3, 2.0, 2.9)}) == 3


def test_match_is_deterministic_and_the_sample_is_spread_evenly() -> None:
    model, histories = genre_world()
    a = fit_match_calibration(model, histories, weights=Weights(), media_type="movie", max_users=5)
    b = fit_match_calibration(model, histories, weights=Weights(), media_type="movie", max_users=5)
    assert a == b and a.watches == 5
    assert sample_users([f"u{i}" for i in range(10)], 5) == ["u0", "u2", "u4", "u6", "u8"]


def test_picks_show_spread_monotone_matches_and_no_flat_fifty() -> None:
    model, histories = genre_world()
    calibration = fit_match_calibration(model, histories, weights=Weights(), media_type="movie")
    for user, picks in recommend_many(model, histories, count=20, match=calibration):
        values = [p.match_percent for p in picks]
        assert len(set(values)) >= 5, (user, values)
        assert 50 not in set(values) or len(set(values)) > 1
        for a in picks:  # a higher overall score never shows a lower match
            assert all(a.match_percent >= b.match_percent for b in picks if a.breakdown.final > b.breakdown.final)
        assert max(values) >= 75


def test_a_cold_start_user_gets_a_weaker_but_ordered_scale() -> None:
    model, histories = genre_world()
    calibration = fit_match_calibration(model, histories, weights=Weights(), media_type="movie")
    picks = recommend(model, [], count=20, match=calibration)
    values = [p.match_percent for p in picks]
    assert len(set(values)) > 3 and all(50 < v < 90 for v in values)
    assert calibration.for_user(cold_start=True) < calibration.separation


def test_percent_is_strictly_monotone_in_the_normal_score() -> None:
    zs = np.linspace(-3.0, 3.0, 61)
    values = [percent_for(float(z), 1.0) for z in zs]
    assert values == sorted(values)
    assert percent_for(0.5, 1.0) == 50  # halfway between the two distributions: even odds


def test_tied_picks_take_the_top_places_of_their_tie_in_list_order() -> None:
    candidates = np.array([0.0] * 30 + [1.0] * 10 + [2.0] * 3)
    scale = MatchScale.fit(candidates, PRIOR, cold_start=True)
    values = scale.percents([2.0, 2.0, 1.0, 1.0, 1.0, 1.0, 0.0])
    assert values == sorted(values, reverse=True) and len(set(values)) == len(values), values
    assert values[-1] <= scale.percent(0.0) + 20  # the lowest tie keeps its place in the catalogue


def test_a_new_user_on_a_server_without_ratings_sees_no_plateaus() -> None:
    # every title equally rated: a new user's scores are popularity counts, tied in large blocks
    entries = [(item(f"m{k}", ["Drama"], year=2000 + k % 20), direction(k % 4)) for k in range(60)]
    histories = {f"u{u}": watched(*[f"m{(u * 7 + j) % 60}" for j in range(5)]) for u in range(6)}
    model = build(entries, histories)
    picks = recommend(model, [], count=12)
    values = [p.match_percent for p in picks]
    assert len(set(values)) >= 8, values
    assert all(v > 50 for v in values), values


def test_histories_without_any_signal_give_no_separation() -> None:
    # random titles watched in random order: the time split must not find skill that is not there
    rng = np.random.default_rng(11)
    entries = [(item(f"r{k}", [GENRES[k % 4]], year=1950 + k % 60), rng.standard_normal(8)) for k in range(400)]
    order = random.Random(5)
    histories = {f"u{u:02d}": watched(*[f"r{order.randrange(400)}" for _ in range(12)]) for u in range(48)}
    model = build(entries, histories)
    scores = later_watch_scores(model, histories, weights=Weights(), media_type="movie")
    assert len(scores) >= 40
    assert abs(float(np.mean(scores))) < 0.35  # about 0 (standard error ~0.15)
