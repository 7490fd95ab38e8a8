"""Per-user recommendations: score every candidate, re-rank for variety, explain each pick."""

from __future__ import annotations

import math
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sidecar.recommender.diversity import mmr_order
from sidecar.recommender.match import MatchCalibration, MatchScale
from sidecar.recommender.prepared_model import PreparedModel
from sidecar.recommender.taste import (
    Taste,
    build_taste,
    content_match,
    content_match_many,
    era_match,
    genre_match,
    genre_novelty,
)
from sidecar.recommender.types import Evidence, Pick, ScoreBreakdown, WatchEvent, Weights

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

IN_PROGRESS_FRACTION = 0.05
ERA_SHARE = 0.6  # weight of era habit inside the taste-match component
COWATCH_FULL_CONFIDENCE_USERS = 8  # below this many users the co-watch weight is scaled down
SHORTLIST_FACTOR = 4
MIN_SHORTLIST = 100
EVIDENCE_COUNT = 3
BATCH_USERS = 64


@dataclass(frozen=True, slots=True)
class _Standardiser:
    """z-scores on the scale of the user's candidates (std 0: a constant component, all zeros)."""

    mean: float
    std: float

    @classmethod
    def fit(cls, values: FloatArray, mask: BoolArray) -> _Standardiser:
        sample = values[mask]
        if sample.size == 0:
            return cls(0.0, 0.0)
        std = float(sample.std())
        return cls(float(sample.mean()), std) if std >= 1e-12 else cls(0.0, 0.0)

    def __call__(self, values: FloatArray) -> FloatArray:
        if self.std == 0.0:
            return np.zeros_like(values)
        return (values - self.mean) / self.std


def _z(values: FloatArray, mask: BoolArray) -> FloatArray:
    """Standardise against the user's candidates; a constant component becomes all zeros."""
    return _Standardiser.fit(values, mask)(values)


def _phi(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def excluded_items(model: PreparedModel, history: Sequence[WatchEvent]) -> BoolArray:
    """Watched, favourite or in-progress (>= 5%) titles and every duplicate copy of them."""
    seen = [
        e.item_id
        for e in history
        if e.played
        or e.favourite
        or e.position_fraction >= IN_PROGRESS_FRACTION
        or (e.completion < 1.0 and e.completion >= IN_PROGRESS_FRACTION)
    ]
    return model.same_title(model.indices(seen))


@dataclass(frozen=True, slots=True)
class Scored:
    """Every candidate's component z-scores for one user (arrays over the catalogue)."""

    candidates: BoolArray
    taste: FloatArray
    cowatch: FloatArray | None
    quality: FloatArray
    novelty: FloatArray
    relevance: FloatArray  # weighted sum, standardised over the candidates
    profile: Taste | None


def score_candidates(
    model: PreparedModel,
    history: Sequence[WatchEvent],
    *,
    weights: Weights,
    recent_limit: int = 100,
    media_type: str | None = None,
    exclude_ids: Collection[str] = (),
) -> Scored:
    """Component scores for every catalogue item the user could be recommended."""
    taste = build_taste(model, history, recent_limit)
    content = None if taste is None else content_match(model, taste)
    return _score(model, history, taste, content, weights, media_type, exclude_ids)


def _score(
    model: PreparedModel,
    history: Sequence[WatchEvent],
    taste: Taste | None,
    content: FloatArray | None,
    weights: Weights,
    media_type: str | None,
    exclude_ids: Collection[str],
) -> Scored:
    candidates = ~excluded_items(model, history)
    if exclude_ids:
        candidates &= ~model.same_title(model.indices(list(exclude_ids)))
    if media_type is not None:
        if media_type not in model.media_types:
            candidates[:] = False
        else:
            candidates &= model.media_type_of == model.media_types.index(media_type)

    quality = _z(model.quality, candidates)
    if taste is None or content is None:
        # Cold start: what this server's viewers watch most, then community rating.
        popular = _z(np.log1p(model.viewers.astype(np.float64)), candidates)
        zero = np.zeros(model.size)
        relevance = _z(popular + quality, candidates)
        return Scored(candidates, zero, None, quality, zero, relevance, None)

    era = era_match(model, taste)
    content_scale, era_scale = _Standardiser.fit(content, candidates), _Standardiser.fit(era, candidates)
    taste_z = content_scale(content) + ERA_SHARE * era_scale(era)
    if weights.genre > 0:
        genre = genre_match(model, taste.genre_share)
        taste_z = taste_z + weights.genre * _Standardiser.fit(genre, candidates)(genre)
    novelty_raw = 0.7 * genre_novelty(model, taste) + 0.3 * (1.0 - era)
    novelty_scale = _Standardiser.fit(novelty_raw, candidates)
    novelty = novelty_scale(novelty_raw)
    total = _weighted_total(weights, taste_z, quality, novelty)
    if weights.popularity > 0:
        total = total + weights.popularity * _z(np.log1p(model.viewers.astype(np.float64)), candidates)

    cowatch_z: FloatArray | None = None
    cowatch_scale, cowatch_weight = _Standardiser(0.0, 0.0), 0.0
    if model.cowatch is not None and weights.cowatch > 0:
        raw = model.cowatch.scores(taste.positions, taste.weights.astype(np.float32), model.size)
        if raw[candidates].any():
            cowatch_scale = _Standardiser.fit(raw.astype(np.float64), candidates)
            cowatch_z = cowatch_scale(raw.astype(np.float64))
            confidence = min(1.0, (model.cowatch.users - 1) / (COWATCH_FULL_CONFIDENCE_USERS - 1))
            cowatch_weight = weights.cowatch * confidence
            total = total + cowatch_weight * cowatch_z
    if model.sessions is not None and weights.session > 0 and model.cowatch is not None:
        linked = model.sessions.scores(taste.positions, taste.weights, model.size).astype(np.float64)
        if linked[candidates].any():
            confidence = min(1.0, (model.cowatch.users - 1) / (COWATCH_FULL_CONFIDENCE_USERS - 1))
            total = total + weights.session * confidence * _z(linked, candidates)
    total_scale = _Standardiser.fit(total, candidates)

    return Scored(candidates, taste_z, cowatch_z, quality, novelty, total_scale(total), taste)


def _weighted_total(weights: Weights, taste_z: FloatArray, quality_z: FloatArray, novelty_z: FloatArray) -> FloatArray:
    # Discovery is a bonus for titles outside the user's habits; familiar titles are not
    # pushed down for being familiar (that is the taste component's business).
    discovery = np.maximum(novelty_z, 0.0)
    return weights.similarity * taste_z + weights.rating * quality_z + weights.novelty * discovery


def _shortlist(relevance: FloatArray, candidates: BoolArray, size: int) -> IntArray:
    pool = np.flatnonzero(candidates)
    if pool.size > size:
        keep = np.argpartition(-relevance[pool], size - 1)[:size]
        pool = pool[keep]
    order = np.lexsort((pool, -relevance[pool]))
    return np.asarray(pool[order], dtype=np.int64)


def _evidence(model: PreparedModel, taste: Taste | None, positions: IntArray) -> list[tuple[Evidence, ...]]:
    """For each pick, the (up to) three watched titles most similar to it, most similar first."""
    if taste is None:
        return [() for _ in positions]
    watched = taste.positions[model.has_vector[taste.positions]]
    # einsum, not BLAS: tiny products stall on BLAS thread hand-offs when the CPU is busy
    sims = np.einsum("ij,kj->ik", model.vectors[positions], model.vectors[watched])
    out: list[tuple[Evidence, ...]] = []
    for row, pos in enumerate(positions.tolist()):
        if not model.has_vector[pos] or watched.size == 0:
            out.append(())
            continue
        order = np.lexsort((np.arange(watched.size), -sims[row]))[:EVIDENCE_COUNT]
        out.append(
            tuple(
                Evidence(
                    model.items[int(watched[k])].item_id,
                    model.items[int(watched[k])].title,
                    round(float(sims[row, k]), 4),
                )
                for k in order
            )
        )
    return out


def recommend(
    model: PreparedModel,
    history: Sequence[WatchEvent],
    *,
    weights: Weights | None = None,
    count: int = 50,
    recent_limit: int = 100,
    media_type: str | None = None,
    exclude_ids: Collection[str] = (),
    match: MatchCalibration | None = None,
) -> list[Pick]:
    """Ranked, explained picks for one user. Deterministic for the same inputs.

    `history` is this user's events (a series is one event, rolled up from its episodes when the
    history is read); `recent_limit` caps how many recent titles shape the taste; `media_type` restricts the
    picks ("movie" or "series"); `exclude_ids` are further titles never to recommend.
    Each pick's match % maps its place among the user's candidates through `match`, the server's
    calibration fitted on what its users went on to watch (`sidecar.recommender.match`; default:
    the prior).
    """
    weights = weights or Weights()
    taste = build_taste(model, history, recent_limit)
    content = None if taste is None else content_match(model, taste)
    scored = _score(model, history, taste, content, weights, media_type, exclude_ids)
    return _picks(model, scored, weights, count, match)


def recommend_many(
    model: PreparedModel,
    histories: Mapping[str, Sequence[WatchEvent]],
    *,
    weights: Weights | None = None,
    count: int = 50,
    recent_limit: int = 100,
    media_type: str | None = None,
    exclude_ids: Mapping[str, Collection[str]] | None = None,
    batch_users: int = BATCH_USERS,
    match: MatchCalibration | None = None,
) -> Iterator[tuple[str, list[Pick]]]:
    """`recommend` for many users (the nightly job), yielding `(user, picks)` in sorted user order.

    The same picks as calling `recommend` per user (up to float rounding in the last digits of
    the scores); the taste-match products of `batch_users` users are computed together, which
    is several times faster per user.
    """
    weights = weights or Weights()
    users = sorted(histories)
    for start in range(0, len(users), batch_users):
        batch = users[start : start + batch_users]
        tastes = [build_taste(model, histories[u], recent_limit) for u in batch]
        known = [t for t in tastes if t is not None]
        contents = iter(content_match_many(model, known))
        for user, taste in zip(batch, tastes, strict=True):
            content = None if taste is None else next(contents)
            excluded = (exclude_ids or {}).get(user, ())
            scored = _score(model, histories[user], taste, content, weights, media_type, excluded)
            yield user, _picks(model, scored, weights, count, match)


def _picks(
    model: PreparedModel, scored: Scored, weights: Weights, count: int, match: MatchCalibration | None
) -> list[Pick]:
    shortlist = _shortlist(scored.relevance, scored.candidates, max(SHORTLIST_FACTOR * count, MIN_SHORTLIST))
    order, nearest = mmr_order(scored.relevance[shortlist], model.vectors[shortlist], count, weights.diversity)
    taste = scored.profile
    user_genres = {g for g, share in zip(model.genres, taste.genre_share, strict=True) if share > 0} if taste else set()
    chosen = shortlist[order]
    evidence = _evidence(model, taste, chosen)
    scale = MatchScale.fit(scored.relevance[scored.candidates], match, cold_start=scored.profile is None)
    matches = scale.percents(scored.relevance[chosen].tolist())
    picks: list[Pick] = []
    for rank, (pos, near, why, match_percent) in enumerate(
        zip(chosen.tolist(), nearest.tolist(), evidence, matches, strict=True), start=1
    ):
        item = model.items[pos]
        rel = float(scored.relevance[pos])
        breakdown = ScoreBreakdown(
            taste=round(_phi(float(scored.taste[pos])), 4),
            cowatch=None if scored.cowatch is None else round(_phi(float(scored.cowatch[pos])), 4),
            novelty=round(_phi(float(scored.novelty[pos])), 4),
            quality=round(_phi(float(scored.quality[pos])), 4),
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
