"""The user's own taste titles scored leave-one-out: the reference that calibrates match %.

Scored against a taste built from itself, a watched title is a trivially perfect fit: it pulls
its taste centroid towards itself (cosine near 1), its genres and year shape the genre and era
habits, and in the co-watch model it co-occurs with the rest of the user's history through the
user's own row. Here each title is scored as if the user had not watched it: its weight leaves
its centroid and the genre and era habits, and the interaction leaves the co-watch fit (see
`CowatchModel.held_out_scores`). Centroid assignments and the number of centroids are kept
(a first-order leave-one-out); everything is a closed form over the <= recent-limit titles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sidecar.recommender.prepared_model import PreparedModel, positive_event
from sidecar.recommender.taste import ERA_SCALE_YEARS, Taste
from sidecar.recommender.types import WatchEvent

FloatArray = npt.NDArray[np.float64]

_TINY = 1e-12


@dataclass(frozen=True, slots=True)
class HeldOut:
    """Raw component values of each taste title (aligned with `Taste.positions`), leave-one-out."""

    content: FloatArray  # as `content_match`
    era: FloatArray  # as `era_match`
    genre_novelty: FloatArray  # as `genre_novelty`
    cowatch: FloatArray | None  # as `CowatchModel.scores`; None when not asked for


def held_out(model: PreparedModel, taste: Taste, history: Sequence[WatchEvent], *, cowatch: bool) -> HeldOut:
    """Leave-one-out component values of the user's taste titles (`history` gives their co-watch row)."""
    loo_cowatch = None
    if cowatch and model.cowatch is not None:
        row = model.indices([e.item_id for e in history if positive_event(e)])
        loo_cowatch = model.cowatch.held_out_scores(row, taste.positions, taste.weights)
    return HeldOut(_content(model, taste), _era(model, taste), _genre_novelty(model, taste), loo_cowatch)


def _content(model: PreparedModel, taste: Taste) -> FloatArray:
    """Cosine to the nearest weighted centroid, the title's own weight taken out of its centroid."""
    out = np.zeros(taste.positions.size)
    with_vec = model.has_vector[taste.positions]
    k = taste.centroids.shape[0]
    if k == 0 or not with_vec.any():
        return out
    points = model.vectors[taste.positions[with_vec]]
    w = taste.weights[with_vec] / taste.weights[with_vec].sum()
    cosines = np.einsum("ij,kj->ik", points, taste.centroids).astype(np.float64)
    member = np.argmax(cosines, axis=1)[:, None] == np.arange(k)[None, :]  # as the k-means assigns
    weighted = member * w[:, None]
    sums = np.einsum("ik,ij->kj", weighted, points.astype(np.float64))  # unnormalised centroids
    mass = weighted.sum(axis=0)
    # Without title i its centroid is sums_c - w_i x_i (unit x_i): cosine and norm in closed form.
    dots = np.einsum("ij,kj->ik", points.astype(np.float64), sums)
    norms_sq = np.einsum("kj,kj->k", sums, sums)[None, :] - 2.0 * w[:, None] * dots + (w**2)[:, None]
    own = (dots - w[:, None]) / np.sqrt(np.maximum(norms_sq, _TINY))
    cosines = np.where(member, own, cosines)
    mass_left = mass[None, :] - weighted
    alive = mass_left > _TINY
    scale = 0.8 + 0.2 * mass_left / np.maximum(mass_left.max(axis=1, keepdims=True), _TINY)
    best = np.where(alive, scale * cosines, -np.inf).max(axis=1)
    out[with_vec] = np.where(np.isfinite(best), best, 0.0)
    return out


def _era(model: PreparedModel, taste: Taste) -> FloatArray:
    """Closeness to the weighted mean year of the other titles."""
    out = np.full(taste.positions.size, 0.5)
    years = model.years[taste.positions]
    known = ~np.isnan(years)
    if known.sum() < 2:
        return out
    w, y = taste.weights[known], years[known]
    mean_without = ((w * y).sum() - w * y) / (w.sum() - w)
    out[known] = np.exp(-np.abs(y - mean_without) / ERA_SCALE_YEARS)
    return out


def _genre_novelty(model: PreparedModel, taste: Taste) -> FloatArray:
    """Share of the title's genres that are not among the other titles' habits."""
    out = np.full(taste.positions.size, 0.5)
    if model.genre_matrix.shape[1] == 0:
        return out
    genres = model.genre_matrix[taste.positions].astype(np.float64)
    w = taste.weights
    share = np.einsum("i,ij->j", w, genres)[None, :] - w[:, None] * genres
    share = np.where(share > _TINY, share, 0.0)
    top = share.max(axis=1)
    counts = genres.sum(axis=1)
    familiarity = share / np.maximum(top, _TINY)[:, None]
    mean_familiarity = (genres * familiarity).sum(axis=1) / np.maximum(counts, 1.0)
    return np.where((top > 0) & (counts > 0), 1.0 - mean_familiarity, out)
