"""Shortlists into picks: re-ranked for variety (MMR, users with as many candidates together) and explained."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from sidecar.recommender.diversity import mmr_order_many
from sidecar.recommender.prepared_model import PreparedModel
from sidecar.recommender.shortlist import Ranked
from sidecar.recommender.taste import Taste
from sidecar.recommender.types import Evidence, Pick, ScoreBreakdown, Weights

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

EVIDENCE_COUNT = 3


_SQRT2 = math.sqrt(2.0)


def _phis(values: list[float]) -> list[float]:
    """The standard normal CDF of each z-score, rounded to 4 places (a list at a time: 250,000 a night)."""
    erf = math.erf
    return [round(0.5 * (1.0 + erf(z / _SQRT2)), 4) for z in values]


def _evidence(model: PreparedModel, taste: Taste | None, positions: IntArray) -> list[tuple[Evidence, ...]]:
    """For each pick, the (up to) three watched titles most similar to it, most similar first."""
    if taste is None:
        return [() for _ in positions]
    watched = taste.positions[model.has_vector[taste.positions]]
    if watched.size == 0:
        return [() for _ in positions]
    # einsum, not BLAS: tiny products stall on BLAS thread hand-offs when the CPU is busy
    sims = np.einsum("ij,kj->ik", model.vectors[positions], model.vectors[watched])
    nearest = np.argsort(-sims, axis=1, kind="stable")[:, :EVIDENCE_COUNT]  # ties to the earlier title
    similarity = np.take_along_axis(sims, nearest, axis=1).tolist()  # Python floats: no numpy scalar per value
    items = model.items
    ids = [items[p].item_id for p in watched.tolist()]
    titles = [items[p].title for p in watched.tolist()]
    return [
        tuple([Evidence(ids[k], titles[k], round(value, 4)) for k, value in zip(ks, values, strict=True)])
        if has
        else ()
        for ks, values, has in zip(nearest.tolist(), similarity, model.has_vector[positions].tolist(), strict=True)
    ]


def picks_many(model: PreparedModel, ranked: Sequence[Ranked], weights: Weights, count: int) -> list[list[Pick]]:
    """Re-rank each user's shortlist for variety (users with as many candidates together) and explain the picks."""
    out: list[list[Pick]] = [[] for _ in ranked]
    by_count: dict[int, list[int]] = {}
    for user, r in enumerate(ranked):
        by_count.setdefault(min(count, r.positions.size), []).append(user)
    for picks, users in by_count.items():
        width = max(ranked[u].positions.size for u in users)
        relevance = np.zeros((len(users), width))
        valid = np.zeros((len(users), width), dtype=bool)
        vectors = np.zeros((len(users), width, model.vectors.shape[1]), dtype=np.float32)
        for row, u in enumerate(users):
            size = ranked[u].positions.size
            relevance[row, :size] = ranked[u].relevance
            valid[row, :size] = True
            vectors[row, :size] = model.vectors[ranked[u].positions]
        order, nearest = mmr_order_many(relevance, vectors, valid, picks, weights.diversity)
        for row, u in enumerate(users):
            out[u] = _explained(model, ranked[u], order[row], nearest[row])
    return out


def _explained(model: PreparedModel, ranked: Ranked, order: IntArray, nearest: FloatArray) -> list[Pick]:
    """The picks in MMR `order` (slots of the shortlist) with their breakdown, genres, evidence and match %."""
    taste = ranked.profile
    user_genres = {g for g, share in zip(model.genres, taste.genre_share, strict=True) if share > 0} if taste else set()
    chosen = ranked.positions[order]
    relevance = ranked.relevance[order].tolist()
    cowatch = [None] * order.size if ranked.cowatch is None else _phis(ranked.cowatch[order].tolist())
    columns = zip(
        chosen.tolist(),
        _phis(ranked.taste[order].tolist()),
        cowatch,
        _phis(ranked.novelty[order].tolist()),
        _phis(ranked.quality[order].tolist()),
        [round(1.0 - max(0.0, near), 4) for near in nearest.tolist()],
        _phis(relevance),
        _evidence(model, taste, chosen),
        ranked.scale.percents(relevance),
        strict=True,
    )
    items = model.items
    picks: list[Pick] = []
    for rank, (pos, taste_p, cowatch_p, novelty_p, quality_p, variety, final, why, match_percent) in enumerate(
        columns, start=1
    ):
        item = items[pos]
        genres = item.genres
        picks.append(
            Pick(
                item_id=item.item_id,
                title=item.title,
                rank=rank,
                match_percent=match_percent,
                breakdown=ScoreBreakdown(taste_p, cowatch_p, novelty_p, quality_p, variety, final),
                matching_genres=tuple([g for g in genres if g in user_genres]),
                new_genres=tuple([g for g in genres if g not in user_genres]),
                evidence=why,
            )
        )
    return picks
