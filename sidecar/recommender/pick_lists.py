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


def _phi(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


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
    items = [model.items[p] for p in watched.tolist()]
    has_vector = model.has_vector[positions].tolist()
    return [
        tuple(Evidence(items[k].item_id, items[k].title, round(value, 4)) for k, value in zip(ks, values, strict=True))
        if has_vector[slot]
        else ()
        for slot, (ks, values) in enumerate(zip(nearest.tolist(), similarity, strict=True))
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
    evidence = _evidence(model, taste, chosen)
    relevance = ranked.relevance[order].tolist()
    matches = ranked.scale.percents(relevance)
    cowatch = [None] * order.size if ranked.cowatch is None else ranked.cowatch[order].tolist()
    columns = zip(
        chosen.tolist(),
        relevance,
        ranked.taste[order].tolist(),
        cowatch,
        ranked.novelty[order].tolist(),
        ranked.quality[order].tolist(),
        nearest.tolist(),
        evidence,
        matches,
        strict=True,
    )
    picks: list[Pick] = []
    for rank, (pos, rel, taste_z, cowatch_z, novelty_z, quality_z, near, why, match_percent) in enumerate(
        columns, start=1
    ):
        item = model.items[pos]
        breakdown = ScoreBreakdown(
            taste=round(_phi(taste_z), 4),
            cowatch=None if cowatch_z is None else round(_phi(cowatch_z), 4),
            novelty=round(_phi(novelty_z), 4),
            quality=round(_phi(quality_z), 4),
            variety=round(1.0 - max(0.0, near), 4),
            final=round(_phi(rel), 4),
        )
        picks.append(
            Pick(
                item_id=item.item_id,
                title=item.title,
                rank=rank,
                match_percent=match_percent,
                breakdown=breakdown,
                matching_genres=tuple(g for g in item.genres if g in user_genres),
                new_genres=tuple(g for g in item.genres if g not in user_genres),
                evidence=why,
            )
        )
    return picks
