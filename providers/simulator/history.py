"""Watch-history seeding: from a MovieLens-style ratings file or made up from each user's taste."""

from __future__ import annotations

import csv
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path


@dataclass(slots=True, frozen=True)
class Rating:
    source_user: str
    movielens_id: int
    rating: float
    when: datetime


def load_ratings(path: Path) -> dict[str, list[Rating]]:
    """``userId,movieId,rating,timestamp`` rows grouped by user, each user's list in time order."""
    by_user: dict[str, list[Rating]] = defaultdict(list)
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            try:
                rating = Rating(
                    source_user=row["userId"],
                    movielens_id=int(row["movieId"]),
                    rating=float(row["rating"]),
                    when=datetime.fromtimestamp(int(row["timestamp"]), UTC),
                )
            except (KeyError, ValueError):
                continue
            by_user[rating.source_user].append(rating)
    for ratings in by_user.values():
        ratings.sort(key=lambda r: r.when)
    return dict(sorted(by_user.items(), key=lambda kv: int(kv[0]) if kv[0].isdigit() else 0))


@dataclass(slots=True, frozen=True)
class SyntheticPlay:
    item_index: int
    when: datetime
    fraction: float  # 1.0 = completed
    favourite: bool


def synthetic_movie_history(
    genres_per_movie: list[list[str]], *, seed: int, now: datetime, plays: tuple[int, int] = (12, 35)
) -> list[SyntheticPlay]:
    """A user who mostly watches two favourite genres: plays spread over the last 120 days."""
    rng = random.Random(seed)
    all_genres = sorted({g for genres in genres_per_movie for g in genres})
    if not all_genres:
        return []
    liked = set(rng.sample(all_genres, k=min(2, len(all_genres))))
    weights = [4.0 if liked & set(g) else 0.4 for g in genres_per_movie]
    count = min(len(genres_per_movie), rng.randint(*plays))
    chosen: set[int] = set()
    while len(chosen) < count:
        chosen.add(rng.choices(range(len(genres_per_movie)), weights=weights)[0])
    out: list[SyntheticPlay] = []
    for index in sorted(chosen):
        partial = rng.random() < 0.1
        out.append(
            SyntheticPlay(
                item_index=index,
                when=now - timedelta(days=rng.uniform(0.5, 120), minutes=rng.randint(0, 600)),
                fraction=rng.uniform(0.2, 0.7) if partial else 1.0,
                favourite=not partial and rng.random() < 0.15,
            )
        )
    return out
