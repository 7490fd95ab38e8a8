"""Offline quality evaluation on real users (protocol: ../shared/data/README.md).

Catalogue = movies with an overview; events = ratings on those; users with >= 15 events;
per user, chronologically, the last 10 events are the test set and the rest the history.
Every catalogue item not in the history is ranked; NDCG@10 and Recall@20
(hits / min(20, |test|)) are averaged over users, for four methods in two regimes:

- `community`: every user's history is visible to the co-watch models;
- `household`: users are split into groups of 8 by sorted id and only the group's own
  histories are visible, as on a family server.

Only what a media server knows is used: title, year, genres, overview, tagline, keywords,
studios, people, community rating, official rating, and the plays (a rating is a finished
play at its timestamp; ratings >= 4.5 stars stand for favourites). No vote counts.

Each regime is also run with **new users** (`<regime>-new`): each fold's users in turn keep only
their last 0, 1, 2 or 3 history titles (the server knows no more of them), everyone else unchanged.

Scores are **cross-validated over K user folds** (`sidecar.evaluation`): methods with settings to
choose (EASE's L2, Marquee's weights) have each fold scored with the setting chosen on the other
folds, the simplest within one standard error of the best; the table gives the mean and the spread
(sample std) of the folds' means.

`marquee` is the production recommender (`sidecar.recommender`).
Entry point for the CLI: `run_evaluation(movies, ratings, cache_dir=..., limit_users=..., folds=...)`;
the protocol's pieces (`load_dataset`, `split_dataset`, `regime_groups`, `make_ranker`,
`ranking_metrics`, `user_scores`) are reusable on other data.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, cast

import numpy as np
import numpy.typing as npt

from sidecar.evaluation.cross_validation import FoldScores, cross_validate
from sidecar.evaluation.folds import new_user_sizes, newest, user_folds
from sidecar.evaluation.table import TableRow, format_table
from sidecar.recommender import (
    ItemFacts,
    WatchEvent,
    Weights,
    prepare_model,
    recommend,
)
from sidecar.recommender.cowatch import ease_item_weights
from sidecar.recommender.embedding_text import ItemDescription, embedding_text, text_hash

TEST_SIZE = 10
MIN_EVENTS = 15
HOUSEHOLD_SIZE = 8
FAVOURITE_STARS = 4.5
# L2 of the EASE baseline, tuned for the baseline itself: best NDCG@10 of a grid per regime
# (community: 50..1000, household: 1..30), so that Marquee is compared with EASE at its best.
EASE_LAMBDA = {"community": 500.0, "household": 3.0}
METHODS = ("popularity", "content-only", "ease", "marquee")
REGIMES = ("community", "household")
NEW_SUFFIX = "-new"  # the same regime, each fold's users seen as new users (their last 0-3 titles)
ALL_REGIMES = (*REGIMES, *(r + NEW_SUFFIX for r in REGIMES))
DEFAULT_FOLDS = 5
# Marquee's candidate settings for cross-validation, simplest first; `Weights()` is the production default.
MARQUEE_SETTINGS: tuple[tuple[str, Weights], ...] = (
    ("taste+co-watch", Weights(genre=0.0, session=0.0, people=0.0)),
    ("+genre", Weights(session=0.0, people=0.0)),
    ("+genre+session", Weights(people=0.0)),
    ("+genre+session+people", Weights()),
)
DEFAULTS_ROW = "marquee-fixed"  # Marquee with the production defaults on every fold (no choice)

FloatMatrix = npt.NDArray[np.float32]


class TextEmbedder(Protocol):
    @property
    def name(self) -> str: ...

    def embed_sync(self, texts: Sequence[str]) -> FloatMatrix: ...


@dataclass(frozen=True, slots=True)
class Rating:
    user: int
    movie: int
    stars: float
    at: float


@dataclass(slots=True)
class Dataset:
    items: list[ItemFacts]
    texts: list[str]
    index: dict[str, int]
    histories: dict[int, list[Rating]]  # every user, chronological
    eval_users: list[int]  # users with >= MIN_EVENTS events, sorted


@dataclass(frozen=True, slots=True)
class Score:
    ndcg10: float
    recall20: float
    users: int
    ndcg_spread: float = 0.0  # sample std over the folds' means
    recall_spread: float = 0.0


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _movie_facts(row: dict[str, Any]) -> tuple[ItemFacts, str]:
    people = ([row["director"]] if row.get("director") else []) + list(row.get("actors") or [])
    provider_ids = {}
    if row.get("tmdbId"):
        provider_ids["tmdb"] = str(row["tmdbId"])
    if row.get("imdbId"):
        provider_ids["imdb"] = str(row["imdbId"])
    facts = ItemFacts(
        item_id=str(row["movieId"]),
        title=row["title"],
        year=row.get("year"),
        genres=tuple(row.get("genres") or ()),
        community_rating=row.get("community_rating"),
        official_rating=row.get("official_rating"),
        people=tuple(people),
        studios=tuple(row.get("studios") or ()),
        provider_ids=provider_ids,
    )
    text = embedding_text(
        ItemDescription(
            title=row["title"],
            year=row.get("year"),
            tagline=row.get("tagline"),
            genres=row.get("genres") or (),
            official_rating=row.get("official_rating"),
            directors=[row["director"]] if row.get("director") else (),
            studios=row.get("studios") or (),
            actors=row.get("actors") or (),
            overview=row.get("overview"),
            tags=row.get("keywords") or (),
        )
    )
    return facts, text


def load_dataset(movies_path: Path, ratings_path: Path, limit_users: int | None = None) -> Dataset:
    items: list[ItemFacts] = []
    texts: list[str] = []
    with movies_path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            row = json.loads(line)
            if not row.get("overview"):
                continue
            facts, text = _movie_facts(row)
            items.append(facts)
            texts.append(text)
    index = {it.item_id: i for i, it in enumerate(items)}
    histories: dict[int, list[Rating]] = defaultdict(list)
    with ratings_path.open(encoding="utf-8") as fh:
        for rec in csv.DictReader(fh):
            if rec["movieId"] not in index:
                continue
            histories[int(rec["userId"])].append(
                Rating(int(rec["userId"]), int(rec["movieId"]), float(rec["rating"]), float(rec["timestamp"]))
            )
    for events in histories.values():
        events.sort(key=lambda r: (r.at, r.movie))
    eval_users = sorted(u for u, ev in histories.items() if len(ev) >= MIN_EVENTS)
    if limit_users is not None:
        eval_users = eval_users[:limit_users]
    return Dataset(items, texts, index, dict(histories), eval_users)


def cached_embeddings(texts: Sequence[str], embedder: TextEmbedder, cache_dir: Path | None) -> FloatMatrix:
    """Embed `texts`, reusing vectors cached under `cache_dir` by (model, text) hash."""
    hashes = [text_hash(t, embedder.name) for t in texts]
    cached: dict[str, FloatMatrix] = {}
    cache_file = None
    if cache_dir is not None:
        cache_dir.mkdir(parents=True, exist_ok=True)
        cache_file = cache_dir / f"embeddings-{embedder.name.replace(':', '_').replace('/', '_')}.npz"
        if cache_file.exists():
            with np.load(cache_file) as data:
                cached = dict(zip(data["hashes"].tolist(), data["vectors"], strict=True))
    missing = sorted({h for h in hashes if h not in cached})
    if missing:
        todo = {h: t for h, t in zip(hashes, texts, strict=True) if h in set(missing)}
        keys = list(todo)
        step = 256
        started = time.monotonic()
        for start in range(0, len(keys), step):
            chunk = keys[start : start + step]
            vectors = embedder.embed_sync([todo[h] for h in chunk])
            cached.update(zip(chunk, vectors, strict=True))
            done = min(start + step, len(keys))
            rate = done / max(time.monotonic() - started, 1e-9)
            _progress(f"embedding {done}/{len(keys)} items ({rate:.0f}/s)")
        if cache_file is not None:
            np.savez(
                cache_file,
                hashes=np.array(list(cached), dtype=str),
                vectors=np.stack(list(cached.values())).astype(np.float32),
            )
    return np.stack([cached[h] for h in hashes]).astype(np.float32)


# ---------------------------------------------------------------- protocol


@dataclass(frozen=True, slots=True)
class Split:
    history: dict[int, list[Rating]]  # every user: all events except the eval users' last 10
    test: dict[int, set[str]]  # eval users: ids of their last 10 events


def split_dataset(ds: Dataset) -> Split:
    eval_set = set(ds.eval_users)
    history: dict[int, list[Rating]] = {}
    test: dict[int, set[str]] = {}
    for user, events in ds.histories.items():
        if user in eval_set:
            history[user] = events[:-TEST_SIZE]
            test[user] = {str(r.movie) for r in events[-TEST_SIZE:]}
        else:
            history[user] = events
    return Split(history, test)


def regime_groups(ds: Dataset, regime: str) -> list[list[int]]:
    """Who sees whose history: one group of everyone, or households of 8 by sorted id."""
    users = sorted(ds.histories)
    if regime == "community":
        return [users]
    if regime == "household":
        return [users[s : s + HOUSEHOLD_SIZE] for s in range(0, len(users), HOUSEHOLD_SIZE)]
    raise ValueError(f"unknown regime {regime!r}")


def ranking_metrics(ranked: Sequence[str], relevant: set[str]) -> tuple[float, float]:
    """(NDCG@10, Recall@20) with binary relevance; recall is hits / min(20, |relevant|)."""
    dcg = sum(1.0 / np.log2(r + 2) for r, item in enumerate(ranked[:10]) if item in relevant)
    ideal = sum(1.0 / np.log2(r + 2) for r in range(min(10, len(relevant))))
    hits = sum(1 for item in ranked[:20] if item in relevant)
    return (dcg / ideal if ideal else 0.0), hits / min(20, len(relevant))


def to_events(ratings: Iterable[Rating]) -> list[WatchEvent]:
    return [WatchEvent(item_id=str(r.movie), last_played=r.at, favourite=r.stars >= FAVOURITE_STARS) for r in ratings]


Ranker = Callable[[int], list[str]]  # user -> top 20 item ids
Setting = float | Weights | None  # EASE's L2, Marquee's weights, or nothing to choose


def method_settings(method: str, regime: str) -> list[tuple[str, Setting]]:
    """The settings cross-validation chooses from, simplest first (see `sidecar.evaluation`)."""
    if method == "ease":
        # more regularised first; grids around the best of each regime on the whole data
        grid = (1000.0, 500.0, 250.0) if regime.startswith("community") else (30.0, 10.0, 3.0, 1.0)
        return [(f"L2 {g:g}", g) for g in grid]
    if method == "marquee":
        return list(MARQUEE_SETTINGS)
    return [("-", None)]


def _top_from_scores(ds: Dataset, scores: npt.NDArray[np.floating], seen: list[Rating]) -> list[str]:
    s = np.asarray(scores, dtype=np.float64).copy()
    s[[ds.index[str(r.movie)] for r in seen]] = -np.inf
    top = np.lexsort((np.arange(s.size), -s))[:20]
    return [ds.items[int(i)].item_id for i in top]


def _interaction_matrix(ds: Dataset, split: Split, users: list[int]) -> npt.NDArray[np.float32]:
    matrix = np.zeros((len(users), len(ds.items)), dtype=np.float32)
    for row, user in enumerate(users):
        matrix[row, [ds.index[str(r.movie)] for r in split.history[user]]] = 1.0
    return matrix


def make_rankers(
    method: str, ds: Dataset, split: Split, x: FloatMatrix, group: list[int], settings: Sequence[Setting]
) -> list[Ranker]:
    """Fit `method` on what `group` can see, once per setting (sharing what the settings share)."""
    if method == "popularity":
        counts = _interaction_matrix(ds, split, group).sum(axis=0)
        return [lambda u: _top_from_scores(ds, counts, split.history[u]) for _ in settings]
    if method == "content-only":
        popular = _interaction_matrix(ds, split, group).sum(axis=0)

        def content(u: int) -> list[str]:
            rows = [ds.index[str(r.movie)] for r in split.history[u]]
            # no history, no taste: the only thing left to rank by is what the others watched
            scores = x @ x[rows].mean(axis=0) if rows else popular
            return _top_from_scores(ds, scores, split.history[u])

        return [content for _ in settings]
    if method == "ease":
        matrix = _interaction_matrix(ds, split, group)
        used = np.flatnonzero(matrix.sum(axis=0) > 0)
        row_of = {u: k for k, u in enumerate(group)}
        out: list[Ranker] = []
        for l2 in settings:
            weights = ease_item_weights(matrix[:, used], float(cast(float, l2)))

            def ease(u: int, weights: FloatMatrix = weights) -> list[str]:
                scores = np.zeros(len(ds.items), dtype=np.float32)
                scores[used] = matrix[row_of[u], used] @ weights
                return _top_from_scores(ds, scores, split.history[u])

            out.append(ease)
        return out
    if method == "marquee":
        histories = {str(u): to_events(split.history[u]) for u in group}
        model = prepare_model(ds.items, x, histories)

        def marquee_with(weights: Weights | None) -> Ranker:
            return lambda u: [p.item_id for p in recommend(model, histories[str(u)], count=20, weights=weights)]

        return [marquee_with(w if isinstance(w, Weights) else None) for w in settings]
    raise ValueError(f"unknown method {method!r}")


def make_ranker(
    method: str, regime: str, ds: Dataset, split: Split, x: FloatMatrix, group: list[int], setting: Setting = None
) -> Ranker:
    """Fit `method` on what `group` can see and return a ranking function for its users.

    `setting` is EASE's L2 (default: `EASE_LAMBDA` of the regime) or Marquee's weights (default: the
    production defaults).
    """
    if setting is None and method == "ease":
        setting = EASE_LAMBDA[regime.removesuffix(NEW_SUFFIX)]
    return make_rankers(method, ds, split, x, group, [setting])[0]


def user_scores(
    method: str, regime: str, ds: Dataset, split: Split, x: FloatMatrix, settings: Sequence[Setting]
) -> list[dict[int, tuple[float, float]]]:
    """(NDCG@10, Recall@20) of every user in `split.test`, once per setting."""
    out: list[dict[int, tuple[float, float]]] = [{} for _ in settings]
    groups = regime_groups(ds, regime.removesuffix(NEW_SUFFIX))
    for group in groups:
        targets = [u for u in group if u in split.test]
        if not targets:
            continue
        for scores, ranker in zip(out, make_rankers(method, ds, split, x, group, settings), strict=True):
            for u in targets:
                scores[u] = ranking_metrics(ranker(u), split.test[u])
    return out


def evaluate_method(method: str, regime: str, ds: Dataset, split: Split, x: FloatMatrix) -> Score:
    """One method with its default setting, averaged over every evaluated user (no folds)."""
    setting: Setting = EASE_LAMBDA[regime] if method == "ease" else None
    started = time.monotonic()
    scores = user_scores(method, regime, ds, split, x, [setting])[0]
    _progress(f"  {regime} {method}: {len(scores)} users in {time.monotonic() - started:.1f}s")
    values = list(scores.values())
    return Score(
        float(np.mean([v[0] for v in values])) if values else 0.0,
        float(np.mean([v[1] for v in values])) if values else 0.0,
        len(values),
    )


def new_user_split(ds: Dataset, split: Split, newcomers: Sequence[int]) -> Split:
    """`split` with `newcomers` reduced to their last 0..3 history titles (the server knows no more
    of them) and only they scored; everyone else's history is unchanged."""
    keep = new_user_sizes(newcomers)
    history = dict(split.history)
    for u in newcomers:
        history[u] = newest(split.history[u], keep[u])
    return Split(history, {u: split.test[u] for u in newcomers})


def setting_scores(
    method: str, regime: str, ds: Dataset, split: Split, x: FloatMatrix, folds: Sequence[Sequence[int]]
) -> list[dict[int, tuple[float, float]]]:
    """Every user's (NDCG@10, Recall@20) under each of `method_settings(method, regime)`; in a `-new`
    regime each fold's users are scored as new users while the other folds keep their histories."""
    settings = [s for _, s in method_settings(method, regime)]
    if not regime.endswith(NEW_SUFFIX):
        return user_scores(method, regime, ds, split, x, settings)
    per_setting: list[dict[int, tuple[float, float]]] = [{} for _ in settings]
    for fold in folds:
        fold_scores = user_scores(method, regime, ds, new_user_split(ds, split, fold), x, settings)
        for merged, scores in zip(per_setting, fold_scores, strict=True):
            merged.update(scores)
    return per_setting


def cross_validated_scores(
    method: str, regime: str, ds: Dataset, split: Split, x: FloatMatrix, folds: Sequence[Sequence[int]]
) -> FoldScores:
    """`method` in `regime`, each fold scored with the setting chosen on the other folds."""
    labels = [label for label, _ in method_settings(method, regime)]
    return cross_validate(labels, setting_scores(method, regime, ds, split, x, folds), folds)


def run_evaluation(
    movies: Path,
    ratings: Path,
    *,
    cache_dir: Path | None = None,
    limit_users: int | None = None,
    embedder: TextEmbedder | None = None,
    methods: Sequence[str] = METHODS,
    regimes: Sequence[str] = ALL_REGIMES,
    folds: int = DEFAULT_FOLDS,
    out: Callable[[str], None] = print,
) -> dict[tuple[str, str], Score]:
    """Run the protocol with `folds`-fold cross-validation over users and print the table
    (`sidecar.evaluation.table`); returns each (regime, method)'s mean and spread over the folds."""
    started = time.monotonic()
    ds = load_dataset(movies, ratings, limit_users)
    _progress(f"catalogue {len(ds.items)} movies, {len(ds.eval_users)} users evaluated")
    if embedder is None:
        from providers.ai.local import LocalEmbedder

        embedder = LocalEmbedder()
    x = cached_embeddings(ds.texts, embedder, cache_dir)
    split = split_dataset(ds)
    user_fold = user_folds(ds.eval_users, folds)
    rows: list[TableRow] = []
    results: dict[tuple[str, str], Score] = {}
    for regime in regimes:
        for method in methods:
            begun = time.monotonic()
            labelled = method_settings(method, regime)
            per_setting = setting_scores(method, regime, ds, split, x, user_fold)
            named = [(method, cross_validate([label for label, _ in labelled], per_setting, user_fold))]
            if method == "marquee":
                # what the product runs, with no choice made on any fold
                default = next(k for k, (_, w) in enumerate(labelled) if w == Weights())
                named.append((DEFAULTS_ROW, cross_validate([labelled[default][0]], [per_setting[default]], user_fold)))
            _progress(f"  {regime} {method}: {len(per_setting[0])} users in {time.monotonic() - begun:.1f}s")
            for name, cv in named:
                rows.append(TableRow(regime, name, cv))
                results[(regime, name)] = Score(
                    cv.ndcg_mean, cv.recall_mean, cv.users, ndcg_spread=cv.ndcg_spread, recall_spread=cv.recall_spread
                )
    for line in format_table(rows, folds=folds, users=len(ds.eval_users), seconds=time.monotonic() - started):
        out(line)
    return results


DEFAULT_CACHE_DIR = Path(".marquee") / "cache"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `marquee evaluate` options, for the CLI to attach to its sub-command."""
    parser.add_argument("--movies", type=Path, required=True, help="movies.jsonl (see ../shared/data)")
    parser.add_argument("--ratings", type=Path, required=True, help="ratings.csv: userId,movieId,rating,timestamp")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR, help="embedding cache folder")
    parser.add_argument("--limit-users", type=int, default=None, help="evaluate only the first N users")
    parser.add_argument("--folds", type=int, default=DEFAULT_FOLDS, help="user folds for cross-validation")


def run_from_args(args: argparse.Namespace) -> int:
    for path in (args.movies, args.ratings):
        if not path.is_file():
            print(f"evaluate: {path} not found", file=sys.stderr)
            return 2
    run_evaluation(args.movies, args.ratings, cache_dir=args.cache_dir, limit_users=args.limit_users, folds=args.folds)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="marquee evaluate", description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    return run_from_args(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
