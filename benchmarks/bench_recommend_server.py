"""A synthetic media server for the recommender benchmarks: clustered items, skewed plays."""

from __future__ import annotations

import numpy as np

from sidecar.recommender import ItemFacts, WatchEvent

GENRES = (
    "Action",
    "Comedy",
    "Drama",
    "Horror",
    "Romance",
    "Science Fiction",
    "Thriller",
    "Animation",
    "Documentary",
    "Crime",
    "Fantasy",
    "Family",
)


def synthetic_server(
    n_items: int = 50_000, n_users: int = 1_000, dim: int = 384, seed: int = 42
) -> tuple[list[ItemFacts], np.ndarray, dict[str, list[WatchEvent]]]:
    """Items in 200 topical clusters; each user watches 20-200 titles from a few favourite clusters,
    biased towards popular titles (Zipf), as on a real server."""
    rng = np.random.default_rng(seed)
    clusters = rng.normal(size=(200, dim)).astype(np.float32)
    cluster_of = rng.integers(0, 200, size=n_items)
    vectors = clusters[cluster_of] + 0.8 * rng.normal(size=(n_items, dim)).astype(np.float32)
    items = [
        ItemFacts(
            item_id=f"item{i}",
            title=f"Title {i}",
            year=int(1950 + (i * 7919) % 75),
            genres=(GENRES[cluster_of[i] % len(GENRES)], GENRES[(cluster_of[i] // 12) % len(GENRES)]),
            community_rating=float(np.clip(rng.normal(6.5, 1.0), 1, 10)),
            provider_ids={"tmdb": str(i)},
        )
        for i in range(n_items)
    ]
    popularity = 1.0 / np.arange(1, n_items + 1) ** 0.8
    popularity = popularity[rng.permutation(n_items)]
    members = [np.flatnonzero(cluster_of == c) for c in range(200)]
    histories: dict[str, list[WatchEvent]] = {}
    for u in range(n_users):
        liked = rng.choice(200, size=3, replace=False)
        pool = np.concatenate([members[c] for c in liked])
        p = popularity[pool] / popularity[pool].sum()
        size = min(int(rng.integers(20, 200)), pool.size)
        picks = rng.choice(pool, size=size, replace=False, p=p)
        start = 1_700_000_000.0
        histories[f"user{u}"] = [
            WatchEvent(
                item_id=f"item{int(i)}",
                last_played=start + k * 3_600.0,
                play_count=1 + int(k % 7 == 0),
                favourite=bool(k % 11 == 0),
            )
            for k, i in enumerate(picks)
        ]
    return items, vectors, histories
