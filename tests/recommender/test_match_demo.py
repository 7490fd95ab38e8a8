"""Match % on the demo catalogue with the demo users' taste histories: spread, monotone, never a flat 50."""

from __future__ import annotations

import hashlib
import random
import re

import numpy as np

from providers.simulator.demo_catalogue import DEMO_TASTES, demo_catalogue
from sidecar.recommender import ItemFacts, WatchEvent, Weights, prepare_model, recommend_many
from sidecar.recommender.match_fit import fit_match_calibration

DIM = 128
NOW = 1_760_000_000.0


def _vector(text: str) -> np.ndarray:
    """A deterministic bag-of-words vector (a stand-in for the sentence embedding)."""
    v = np.zeros(DIM)
    for word in re.findall(r"[a-z']+", text.lower()):
        v[int(hashlib.blake2b(word.encode(), digest_size=4).hexdigest(), 16) % DIM] += 1.0
    return v / max(np.linalg.norm(v), 1e-9)


def _demo_world():  # type: ignore[no-untyped-def]
    movies = demo_catalogue().movies
    items = [
        ItemFacts(
            item_id=m.key,
            title=m.title,
            year=m.year,
            genres=tuple(m.genres),
            people=tuple(([m.director] if m.director else []) + m.actors[:3]),
        )
        for m in movies
    ]
    vectors = np.stack([_vector(" ".join([*m.genres, *m.genres, m.overview or ""])) for m in movies])
    histories: dict[str, list[WatchEvent]] = {}
    for n, taste in enumerate(DEMO_TASTES):  # as seed_taste_histories: most inside the taste, two outside
        rng = random.Random(n)
        liked = [m.key for m in movies if taste.likes(m.genres, series=False)]
        others = [m.key for m in movies if not taste.likes(m.genres, series=False)]
        chosen = rng.sample(liked, k=max(3, len(liked) * 2 // 5)) + rng.sample(others, k=2)
        histories[taste.user] = sorted(
            (WatchEvent(key, last_played=NOW - rng.uniform(1, 120) * 86_400) for key in chosen),
            key=lambda e: e.last_played or 0.0,
        )
    return prepare_model(items, vectors.astype(np.float32), histories), histories


def test_demo_users_get_spread_calibrated_matches_and_never_a_flat_fifty() -> None:
    model, histories = _demo_world()
    calibration = fit_match_calibration(model, histories, weights=Weights(), media_type="movie")
    assert calibration.watches == len(histories)
    everyone: list[int] = []
    for user, picks in recommend_many(model, histories, count=30, match=calibration):
        values = [p.match_percent for p in picks]
        assert len(set(values)) >= 5, (user, values)
        assert set(values) != {50}
        assert all(50 < v <= 99 for v in values), (user, values)  # every pick beats an average title
        for a in picks:  # the badge never contradicts the overall score
            assert all(a.match_percent >= b.match_percent for b in picks if a.breakdown.final > b.breakdown.final)
        everyone += values
    assert max(everyone) - min(everyone) >= 20
