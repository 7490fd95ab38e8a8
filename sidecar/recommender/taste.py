"""A user's taste from their history: weighted titles, taste centroids, genre and era habits."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sidecar.recommender.prepared_model import PreparedModel, positive_event
from sidecar.recommender.types import WatchEvent

FloatMatrix = npt.NDArray[np.float32]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Recency is counted in titles, not days: people watch in bursts, and what they chose last
# says most about what they choose next (half-life tuned on the evaluation data).
RECENCY_HALF_LIFE_TITLES = 5.0
RECENCY_FLOOR = 0.02
FAVOURITE_BOOST = 1.5
MAX_CENTROIDS = 3
TITLES_PER_CENTROID = 12
KMEANS_ROUNDS = 8
ERA_SCALE_YEARS = 8.0
SMALL_PRODUCT_COLUMNS = 8


@dataclass(frozen=True, slots=True)
class Taste:
    """One user's taste, ready for scoring (all arrays are small)."""

    positions: IntArray  # catalogue positions of the titles the taste is built from, newest first
    weights: FloatArray  # their weights (sum 1)
    centroids: FloatMatrix  # k x d unit vectors
    centroid_mass: FloatArray  # share of the weight behind each centroid
    genre_share: FloatArray  # G, weighted share of each genre in the history (sum 1 or all 0)
    mean_year: float | None


def _event_order_key(event: WatchEvent) -> tuple[int, float]:
    return (0, -event.last_played) if event.last_played is not None else (1, 0.0)


def history_weights(events: Sequence[WatchEvent]) -> FloatArray:
    """Weight per event (newest first): recency x completion x favourite x repeat plays."""
    n = len(events)
    recency = np.maximum(RECENCY_FLOOR, 0.5 ** (np.arange(n) / RECENCY_HALF_LIFE_TITLES))
    completion = np.array([0.5 + 0.5 * min(1.0, max(0.0, e.completion)) for e in events])
    favourite = np.array([FAVOURITE_BOOST if e.favourite else 1.0 for e in events])
    repeats = np.array([1.0 + 0.25 * np.log2(max(1, e.play_count)) for e in events])
    return np.asarray(recency * completion * favourite * repeats, dtype=np.float64)


def _weighted_kmeans(points: FloatMatrix, weights: FloatArray, k: int) -> tuple[FloatMatrix, FloatArray]:
    """Spherical k-means, deterministic: seeded with the heaviest point, then farthest points."""
    seeds = [int(np.argmax(weights))]
    while len(seeds) < k:
        sims = np.einsum("ij,kj->ik", points, points[seeds])
        seeds.append(int(np.argmin(sims.max(axis=1))))
    centroids = points[seeds].copy()
    previous = None
    for _ in range(KMEANS_ROUNDS):
        assign = np.argmax(np.einsum("ij,kj->ik", points, centroids), axis=1)
        if previous is not None and np.array_equal(assign, previous):
            break  # converged: every further round would compute these centroids again
        previous = assign
        for c in range(k):
            members = assign == c
            if members.any():
                v = (weights[members, None] * points[members]).sum(axis=0)
                centroids[c] = v / max(float(np.linalg.norm(v)), 1e-12)
    assign = np.argmax(np.einsum("ij,kj->ik", points, centroids), axis=1)
    mass = np.array([weights[assign == c].sum() for c in range(k)])
    return centroids.astype(np.float32), mass / max(mass.sum(), 1e-12)


def build_taste(model: PreparedModel, history: Sequence[WatchEvent], recent_limit: int) -> Taste | None:
    """Taste from the `recent_limit` most recent positive events; None with no usable history."""
    events = sorted((e for e in history if e.item_id in model.index and positive_event(e)), key=_event_order_key)
    seen: set[str] = set()
    unique = []
    for e in events:
        if e.item_id not in seen:
            seen.add(e.item_id)
            unique.append(e)
    unique = unique[:recent_limit]
    if not unique:
        return None
    positions = np.array([model.index[e.item_id] for e in unique], dtype=np.int64)
    weights = history_weights(unique)
    weights = weights / weights.sum()

    with_vec = model.has_vector[positions]
    if with_vec.any():
        pts, w = model.vectors[positions[with_vec]], weights[with_vec]
        k = int(min(MAX_CENTROIDS, max(1, len(pts) // TITLES_PER_CENTROID)))
        centroids, mass = _weighted_kmeans(pts, w / w.sum(), k)
    else:
        centroids, mass = np.zeros((0, model.vectors.shape[1]), dtype=np.float32), np.zeros(0)

    genre_share = np.einsum("i,ij->j", weights, model.genre_matrix[positions])
    total = genre_share.sum()
    genre_share = genre_share / total if total > 0 else genre_share
    years = model.years[positions]
    known = ~np.isnan(years)
    mean_year = float((weights[known] * years[known]).sum() / weights[known].sum()) if known.any() else None
    return Taste(positions, weights, centroids, mass, np.asarray(genre_share, dtype=np.float64), mean_year)


def weighted_centroids(taste: Taste) -> FloatMatrix:
    """The centroids scaled so the heavier ones are lightly favoured (k x d)."""
    scale = 0.8 + 0.2 * taste.centroid_mass / max(float(taste.centroid_mass.max(initial=0.0)), 1e-12)
    return np.asarray(taste.centroids * scale[:, None], dtype=np.float32)


def content_match_many(model: PreparedModel, tastes: Sequence[Taste]) -> list[FloatArray]:
    """`content_match` for several users with one matrix product (much faster per user)."""
    blocks = [weighted_centroids(t) for t in tastes]
    columns = sum(b.shape[0] for b in blocks)
    if columns == 0:
        return [np.zeros(model.size) for _ in tastes]
    if columns <= SMALL_PRODUCT_COLUMNS:
        # One user: a plain single-threaded loop beats BLAS on a product this skinny, and does
        # not stall when other processes keep the cores busy (the webhook-refresh case).
        sims = np.einsum("ij,kj->ik", model.vectors, np.vstack(blocks)).T
    else:
        sims = np.vstack(blocks) @ model.vectors.T
    out: list[FloatArray] = []
    start = 0
    for block in blocks:
        k = block.shape[0]
        # a user's maximum as np.maximum over their k rows of columns x items: max(axis=...) across
        # a few values per item takes longer than the product itself
        best = functools.reduce(np.maximum, sims[start : start + k]) if k else np.zeros(model.size)
        out.append(np.asarray(best, dtype=np.float64))
        start += k
    return out


def content_match(model: PreparedModel, taste: Taste) -> FloatArray:
    """Cosine to the nearest taste centroid, lightly favouring the heavier centroids."""
    return content_match_many(model, [taste])[0]


def era_match_many(model: PreparedModel, tastes: Sequence[Taste]) -> FloatArray:
    """1 for the user's usual era, falling off with distance in years (0.5 for unknown years, and throughout for a
    user without a known year): users x the model's distinct `year_values` (index with `year_of` per item)."""
    means = np.array([np.nan if t.mean_year is None else t.mean_year for t in tastes], dtype=np.float64)
    out = np.exp(-np.abs(model.year_values[None, :] - means[:, None]) / ERA_SCALE_YEARS)
    return np.where(np.isnan(out), 0.5, out)


def genre_overlap_many(model: PreparedModel, shares: FloatArray) -> FloatArray:
    """Summed share of the genres of each of the model's distinct genre sets, users x sets, for `shares` users x G."""
    sets = model.genre_sets.matrix
    if sets.shape[1] == 0:
        return np.zeros((shares.shape[0], sets.shape[0]))
    if shares.shape[0] <= SMALL_PRODUCT_COLUMNS:  # single-threaded, as in `content_match_many`
        return np.asarray(np.einsum("kg,ng->kn", shares, sets), dtype=np.float64)
    return np.asarray(shares @ sets.T, dtype=np.float64)


def genre_match(model: PreparedModel, genre_share: FloatArray) -> FloatArray:
    """Cosine between each item's genres and the user's genre shares (0 for an item without genres).

    `genre_share` is one user's (G) or several users' (G x U) shares; the result is N or N x U. Unlike the
    embedding match it reads the genres as stated, so a thriller fan's thrillers rank as thrillers even
    where the overviews say little.
    """
    if model.genre_matrix.shape[1] == 0:
        return np.zeros((model.size, *genre_share.shape[1:]))
    norm = np.linalg.norm(genre_share, axis=0)
    if genre_share.ndim == 1:  # one user (every refresh): a sum over the matrix's ones, not a product over all of it
        item_of, genre_of = model.genre_pairs
        summed = np.bincount(item_of, weights=genre_share[genre_of], minlength=model.size)
        overlap: FloatArray = np.asarray(summed, dtype=np.float64)
    else:
        overlap = model.genre_matrix.astype(np.float64) @ genre_share
    scale = np.sqrt(np.maximum(model.genre_counts.astype(np.float64), 1.0))
    if genre_share.ndim == 2:
        scale = scale[:, None]
    return np.asarray(overlap / scale / np.maximum(norm, 1e-12), dtype=np.float64)


def _gather(starts: IntArray, values: IntArray, rows: IntArray) -> tuple[IntArray, IntArray]:
    """CSR rows `rows` of (`starts`, `values`): the values, and which of `rows` each came from."""
    lo, hi = starts[rows], starts[rows + 1]
    counts = hi - lo
    owner = np.repeat(np.arange(rows.size), counts)
    offsets = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    return values[lo[owner] + offsets], owner


def people_match(model: PreparedModel, taste: Taste) -> FloatArray:
    """How much of the user's weighted history each item shares people with (directors, leading cast).

    Each person carries the summed weight of the user's titles they are in; an item scores the sum
    over its people, divided by the square root of how many it lists (0 for an item with none known).
    Only the items of the user's people are touched, so it costs the same on any catalogue size.
    """
    out = np.zeros(model.size)
    index = model.people
    if index is None:
        return out
    people, title = _gather(index.people_start, index.people_of, taste.positions)
    person_weight = np.bincount(people, weights=taste.weights[title], minlength=index.count)
    mine = np.flatnonzero(person_weight)
    items, person = _gather(index.items_start, index.items_of, mine)
    np.add.at(out, items, person_weight[mine[person]])
    listed = np.diff(index.people_start).astype(np.float64)
    return np.asarray(out / np.sqrt(np.maximum(listed, 1.0)), dtype=np.float64)
