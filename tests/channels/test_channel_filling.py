"""The text preference's genres (pseudo-relevance feedback) and the owner's taste in ``channel_items``."""

from __future__ import annotations

import numpy as np

from sidecar.recommender.retrieval import channel_items, text_genre_fit
from sidecar.recommender.taste import build_taste
from tests.recommender.builders import build, direction, item, watched


def _catalogue() -> list:
    # Axis 0 is "heartwarming": mostly comedies sit there, but one horror film and one documentary too.
    entries = [(item(f"com{n}", ["Comedy"]), direction(0, 0.2 + 0.05 * n, towards=1)) for n in range(6)]
    entries += [(item("horror", ["Horror"]), direction(0, 0.5, towards=2))]
    entries += [(item("doc", ["Documentary"]), direction(0, 0.5, towards=3))]
    entries += [(item(f"far{n}", ["Comedy"]), direction(0, 0.9 + 0.05 * n, towards=1)) for n in range(3)]
    entries += [(item(f"thr{n}", ["Thriller"]), direction(4, 0.1 * n, towards=5)) for n in range(6)]
    return entries


def test_the_texts_genres_keep_the_odd_ones_out() -> None:
    model = build(_catalogue())
    words = direction(0)
    before = [i for i, _ in channel_items(model, preference_vector=words, count=8, text_genres=False)]
    after = [i for i, _ in channel_items(model, preference_vector=words, count=8)]
    assert "horror" in before and "doc" in before  # nearest to the words, wrong genres
    assert "horror" not in after and "doc" not in after
    assert sum(i.startswith(("com", "far")) for i in after) == 8


def test_genre_fit_is_zero_without_a_genre_signal() -> None:
    model = build([(item(f"x{n}", ["Drama"]), direction(n % 8)) for n in range(8)])
    sims = np.asarray(model.vectors @ direction(0).astype(np.float32), dtype=np.float64)
    fit = text_genre_fit(model, sims, np.ones(model.size, dtype=bool))
    assert float(fit.max()) == 0.0  # every title has the one genre: the text asks for nothing beyond chance


def test_the_owners_taste_breaks_ties_but_does_not_override_the_request() -> None:
    entries = [(item(f"com{n}", ["Comedy"]), direction(0, 0.3, towards=1 + n % 2)) for n in range(4)]
    entries += [(item("liked", ["Comedy"]), direction(2))]
    entries += [(item(f"thr{n}", ["Thriller"]), direction(2, 0.1 * (n + 1), towards=6)) for n in range(3)]
    model = build(entries, {"7": watched("liked")})
    taste = build_taste(model, watched("liked"), 50)
    assert taste is not None
    ranked = [i for i, _ in channel_items(model, preference_vector=direction(0), taste=taste, count=4)]
    assert ranked[:2] == ["com1", "com3"]  # the comedies leaning towards the owner's taste (axis 2) come first
    assert all(i.startswith("com") for i in ranked)  # and the taste's thrillers stay out of a comedy channel
