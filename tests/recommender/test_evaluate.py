"""`evaluate` end to end on a small synthetic catalogue (made up here, no third-party data)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from sidecar.evaluate import ranking_metrics, run_evaluation

THEMES = {
    "Science Fiction": "space ship crew planet alien",
    "Romance": "love wedding couple paris heart",
    "Horror": "ghost house curse night scream",
}


class WordEmbedder:
    """Words hashed into 32 buckets: a real, deterministic embedder with no model to load."""

    name = "test:words-32"

    def __init__(self) -> None:
        self.texts = 0

    def embed_sync(self, texts: Sequence[str]) -> np.ndarray:
        self.texts += len(texts)
        out = np.zeros((len(texts), 32), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z]+", text.lower()):
                out[row, hashlib.sha256(word.encode()).digest()[0] % 32] += 1.0
        return np.asarray(out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9))


def write_fixture(tmp: Path) -> tuple[Path, Path]:
    movies = tmp / "movies.jsonl"
    ratings = tmp / "ratings.csv"
    rows = []
    for t, (genre, words) in enumerate(THEMES.items()):
        for k in range(10):
            rows.append(
                {
                    "movieId": t * 100 + k,
                    "tmdbId": t * 100 + k,
                    "imdbId": f"tt{t * 100 + k:07d}",
                    "title": f"{genre} story {k}",
                    "year": 1990 + k,
                    "genres": [genre],
                    "overview": f"A tale of {words} number {k}.",
                    "community_rating": 5.0 + k % 4,
                    "vote_count": 10,
                }
            )
    rows.append({"movieId": 999, "title": "No overview", "year": 2000, "genres": [], "overview": None})
    movies.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    lines = ["userId,movieId,rating,timestamp"]
    for user in range(1, 19):
        theme = user % 3
        for step in range(16):
            movie = theme * 100 + (step + user) % 10 if step % 4 else ((theme + 1) % 3) * 100 + step % 10
            lines.append(f"{user},{movie},{4.5 if step % 3 == 0 else 3.5},{1_600_000_000 + step * 60}")
        lines.append(f"{user},999,4.0,1600009999")  # not in the catalogue: dropped
    ratings.write_text("\n".join(lines) + "\n")
    return movies, ratings


def test_ranking_metrics() -> None:
    assert ranking_metrics(["a", "b", "c"], {"a"}) == (1.0, 1.0)
    ndcg, recall = ranking_metrics(["x", "a"], {"a", "b"})
    assert np.isclose(ndcg, (1 / np.log2(3)) / (1 + 1 / np.log2(3))) and recall == 0.5


ROW = re.compile(
    r"^(community|household|community-new|household-new) +(popularity|content-only|ease|marquee|marquee-fixed) +"
    r"(\S+) ± (\S+) +(\S+) ± (\S+) +(\d+)  \S"
)


def test_evaluate_prints_a_cross_validated_row_per_regime_and_method_and_caches_embeddings(tmp_path: Path) -> None:
    movies, ratings = write_fixture(tmp_path)
    embedder = WordEmbedder()
    lines: list[str] = []
    results = run_evaluation(
        movies, ratings, cache_dir=tmp_path / "cache", embedder=embedder, folds=3, out=lines.append
    )
    assert embedder.texts == 30
    rows = [m for m in map(ROW.match, lines) if m]
    regimes = ("community", "household", "community-new", "household-new")
    methods = ("popularity", "content-only", "ease", "marquee", "marquee-fixed")
    assert [(m.group(1), m.group(2)) for m in rows] == [(r, m) for r in regimes for m in methods]
    assert lines[0].startswith("cross-validated over 3 user folds of 18 users")
    assert lines[-1].startswith("run time ")
    for key, score in results.items():
        assert 0.0 <= score.ndcg10 <= 1.0 and 0.0 <= score.recall20 <= 1.0 and score.users == 18, key
        assert score.ndcg_spread >= 0.0
    # each user's future is their own theme: taste-driven methods must find it
    assert results[("community", "marquee")].ndcg10 > results[("community", "popularity")].ndcg10

    again = WordEmbedder()
    limited = run_evaluation(
        movies, ratings, cache_dir=tmp_path / "cache", embedder=again, limit_users=6, folds=2, out=lambda _: None
    )
    assert again.texts == 0  # every vector came from the cache
    assert limited[("household", "ease")].users == 6


def test_main_reports_a_missing_file(tmp_path: Path) -> None:
    from sidecar.evaluate import main

    assert main(["--movies", str(tmp_path / "nope.jsonl"), "--ratings", str(tmp_path / "nope.csv")]) == 2
