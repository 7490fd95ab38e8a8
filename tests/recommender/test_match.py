"""Match %: leave-one-out reference titles and the binormal scale (calibration fitting: test_match_calibration)."""

from __future__ import annotations

import numpy as np

from sidecar.recommender import PreparedModel, Weights, recommend
from sidecar.recommender.cowatch import build_cowatch
from sidecar.recommender.match import MatchCalibration, MatchScale
from tests.recommender.builders import build, direction, item, watched

HORROR, COMEDY, DRAMA = 0, 1, 2


def three_genre_catalogue(per_genre: int = 30) -> PreparedModel:
    entries = []
    for k in range(per_genre):
        tilt = 0.05 * (k % 10 + 1)
        towards = 3 + k % 5
        entries.append((item(f"h{k}", ["Horror"], year=1990 + k % 12), direction(HORROR, tilt, towards=towards)))
        entries.append((item(f"c{k}", ["Comedy"], year=1990 + k % 25), direction(COMEDY, tilt, towards=towards)))
        entries.append((item(f"d{k}", ["Drama"], year=1975 + k), direction(DRAMA, tilt, towards=towards)))
    return build(entries)


def test_coherent_one_genre_history_gets_high_varied_matches_above_off_genre_titles() -> None:
    model = three_genre_catalogue()
    history = watched(*[f"h{k}" for k in range(0, 20, 2)])
    picks = recommend(model, history, count=len(model.items))
    by_genre = {p.item_id: p for p in picks}
    top = picks[:5]
    assert all(p.item_id.startswith("h") for p in top)
    assert all(p.match_percent >= 70 for p in top)  # was 1% when watched titles were scored with themselves
    best_off_genre = max(p.match_percent for p in picks if not p.item_id.startswith("h"))
    assert top[0].match_percent > best_off_genre
    assert min(p.match_percent for p in top) > best_off_genre
    assert len({p.match_percent for p in picks}) > 5
    assert by_genre["c1"].match_percent < by_genre["h1"].match_percent


def test_cold_start_and_single_title_users_get_a_spread_fallback_match() -> None:
    rated = [
        (item(f"r{k}", ["Drama"], rating=4.0 + (k * 3 % 50) / 10), direction(DRAMA, 0.02 * k, 4)) for k in range(40)
    ]
    model = build(rated)
    for history in ([], watched("r0")):
        picks = recommend(model, history, count=10)
        assert picks and all(1 <= p.match_percent <= 99 for p in picks)
        assert len({p.match_percent for p in picks}) > 1  # never one flat value
    cold = recommend(model, [], count=10)
    warm = recommend(model, watched("r0"), count=10)
    assert max(p.match_percent for p in cold) < max(p.match_percent for p in warm)  # popularity claims less


def test_match_is_presentation_only() -> None:
    model = three_genre_catalogue(10)
    history = watched("h0", "h2", "h4", "c1")
    picks = recommend(model, history, weights=Weights(diversity=0.0), count=20)
    finals = [p.breakdown.final for p in picks]
    assert finals == sorted(finals, reverse=True)
    matches = [p.match_percent for p in picks]
    assert matches == sorted(matches, reverse=True)  # monotone in the score


def test_cowatch_held_out_scores_equal_a_refit_without_the_interaction() -> None:
    rng = np.random.default_rng(5)
    n_items = 40
    rows = [np.unique(rng.choice(n_items, size=int(rng.integers(8, 20)), replace=False)) for _ in range(7)]
    model = build_cowatch(rows, n_items)
    assert model is not None
    me = 3
    titles = rows[me][:6]
    weights = rng.random(titles.size)
    weights /= weights.sum()
    got = model.held_out_scores(rows[me], titles, weights)
    for k, title in enumerate(titles.tolist()):
        refit = build_cowatch([r[r != title] if u == me else r for u, r in enumerate(rows)], n_items)
        assert refit is not None
        others = np.delete(titles, k)
        rest = np.delete(weights, k) / (1.0 - weights[k])
        assert np.isclose(got[k], refit.scores(others, rest.astype(np.float32), n_items)[title], atol=1e-5)
    inflated = model.scores(titles, weights.astype(np.float32), n_items)[titles]
    assert inflated.mean() > got.mean() + 0.005  # the user's own row no longer vouches for their titles


def test_match_scale_is_monotone_and_grows_with_the_servers_separation() -> None:
    candidates = np.linspace(-2.0, 2.0, 1001)
    weak = MatchScale.fit(candidates, MatchCalibration.fit([0.0] * 200))
    strong = MatchScale.fit(candidates, MatchCalibration.fit([2.0] * 200))
    assert 0 < weak.separation < strong.separation
    assert 50 < weak.percent(2.0) < strong.percent(2.0) <= 99
    assert strong.percent(-1.5) < 50 < strong.percent(1.5)
    values = [strong.percent(float(x)) for x in np.linspace(-2.0, 2.0, 41)]
    assert values == sorted(values) and len(set(values)) > 20
