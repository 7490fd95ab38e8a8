"""Per-user recommendations: score every candidate, re-rank for variety, explain each pick."""

from __future__ import annotations

import math
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sidecar.recommender.diversity import mmr_order_many
from sidecar.recommender.match import PRIOR, MatchCalibration, MatchScale
from sidecar.recommender.prepared_model import PreparedModel
from sidecar.recommender.session_cowatch import confidence as session_confidence
from sidecar.recommender.taste import (
    Taste,
    build_taste,
    content_match,
    content_match_many,
    era_match,
    genre_match,
    genre_novelty,
    people_match,
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
PRESAMPLE = 2048  # values sampled to narrow the shortlist's partition


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
        # sum and einsum, not mean() and std(): the same two-pass statistic in a third of the passes
        # (not np.dot: BLAS threads stall on a busy CPU)
        mean = float(sample.sum()) / sample.size
        centred = sample - mean
        std = math.sqrt(float(np.einsum("i,i->", centred, centred)) / sample.size)
        return cls(mean, std) if std >= 1e-12 else cls(0.0, 0.0)

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
    spread: float = 0.0  # std of the weighted sum over the candidates (relevance = (sum - mean) / spread)


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
    # A title not embedded yet (first picks come before the embeddings) sits at the candidates' mean content match.
    embedded = candidates & model.has_vector
    content_scale, era_scale = _Standardiser.fit(content, embedded), _Standardiser.fit(era, candidates)
    taste_z = np.where(model.has_vector, content_scale(content), 0.0) + ERA_SHARE * era_scale(era)
    if weights.genre > 0:
        genre = genre_match(model, taste.genre_share)
        taste_z = taste_z + weights.genre * _Standardiser.fit(genre, candidates)(genre)
    if weights.people > 0:
        shared = people_match(model, taste)
        taste_z = taste_z + weights.people * _Standardiser.fit(shared, candidates)(shared)
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
            cowatch_weight = cowatch_weight_for(model, taste, weights)
            total = total + cowatch_weight * cowatch_z
    if model.sessions is not None and weights.session > 0:
        linked = model.sessions.scores(taste.positions, taste.weights, model.size)
        if linked[candidates].any():
            total = total + weights.session * session_confidence(model.sessions.users) * _z(linked, candidates)
    total_scale = _Standardiser.fit(total, candidates)

    return Scored(candidates, taste_z, cowatch_z, quality, novelty, total_scale(total), taste, total_scale.std)


def cowatch_weight_for(model: PreparedModel, taste: Taste, weights: Weights) -> float:
    """The co-watch weight for one user: scaled down on a server of few viewers, and by the share of the
    user's (weighted) titles anyone else watched, so co-watch from a couple of shared titles cannot
    outvote a whole history nobody else watched (on a large server the share is about 1)."""
    if model.cowatch is None:
        return 0.0
    confidence = min(1.0, (model.cowatch.users - 1) / (COWATCH_FULL_CONFIDENCE_USERS - 1))
    shared = float(taste.weights[model.viewers[taste.positions] >= 2].sum())
    return weights.cowatch * confidence * shared


def _weighted_total(weights: Weights, taste_z: FloatArray, quality_z: FloatArray, novelty_z: FloatArray) -> FloatArray:
    # Discovery is a bonus for titles outside the user's habits; familiar titles are not
    # pushed down for being familiar (that is the taste component's business).
    discovery = np.maximum(novelty_z, 0.0)
    return weights.similarity * taste_z + weights.rating * quality_z + weights.novelty * discovery


@dataclass(frozen=True, slots=True)
class _Ranked:
    """One user's shortlist, best first, with all their picks need (the catalogue-wide arrays can go)."""

    positions: IntArray  # catalogue positions
    relevance: FloatArray  # the components below, at `positions`
    taste: FloatArray
    cowatch: FloatArray | None
    novelty: FloatArray
    quality: FloatArray
    profile: Taste | None
    scale: MatchScale


def _kth_largest(values: FloatArray, k: int) -> float:
    """The k-th largest of `values` (1 <= k <= size). A strided sample's cut usually narrows the partition
    to a few thousand values; when fewer than k lie above it, the whole array is partitioned."""
    n = values.size
    stride = max(1, n // PRESAMPLE)
    sample = values[::stride]
    rank = min(sample.size, 2 * (k * sample.size) // n + 8)  # about twice the share needed, from the top
    cut = np.partition(sample, sample.size - rank)[sample.size - rank]
    above = values[values >= cut]
    if above.size >= k:
        return float(np.partition(above, above.size - k)[above.size - k])
    return float(np.partition(values, n - k)[n - k])


def _shortlist(relevance: FloatArray, candidates: BoolArray, size: int) -> tuple[IntArray, FloatArray]:
    """The `size` most relevant candidates, best first, ties to the lower position; and, sorted ascending,
    the relevance of every candidate at least as relevant as the last of them (its ties included)."""
    pool = np.flatnonzero(candidates)
    if pool.size > size:
        values = relevance[pool]
        pool = pool[values >= _kth_largest(values, size)]
    top = relevance[pool]
    order = np.lexsort((pool, -top))
    return np.asarray(pool[order[:size]], dtype=np.int64), top[order[::-1]]


def _rank(scored: Scored, count: int, match: MatchCalibration | None) -> _Ranked:
    shortlist, top = _shortlist(scored.relevance, scored.candidates, max(SHORTLIST_FACTOR * count, MIN_SHORTLIST))
    # The match scale only ever places picks, and every pick scores at least the shortlist's last; the
    # candidates below it count, their values do not: -inf stands in for them (no sort of every candidate).
    below = int(np.count_nonzero(scored.candidates)) - top.size
    ordered = np.concatenate([np.full(below, -np.inf), top]) if below else top
    scale = MatchScale(ordered, (match or PRIOR).for_user(cold_start=scored.profile is None))
    return _Ranked(
        shortlist,
        scored.relevance[shortlist],
        scored.taste[shortlist],
        None if scored.cowatch is None else scored.cowatch[shortlist],
        scored.novelty[shortlist],
        scored.quality[shortlist],
        scored.profile,
        scale,
    )


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
    items = [model.items[p] for p in watched.tolist()]
    has_vector = model.has_vector[positions].tolist()
    return [
        tuple(Evidence(items[k].item_id, items[k].title, round(float(row[k]), 4)) for k in ks)
        if has_vector[slot]
        else ()
        for slot, (ks, row) in enumerate(zip(nearest.tolist(), sims, strict=True))
    ]


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
    return _picks_many(model, [_rank(scored, count, match)], weights, count)[0]


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
    the scores); the taste-match products of `batch_users` users are computed together, and so is
    their re-ranking for variety, which is several times faster per user.
    """
    weights = weights or Weights()
    users = sorted(histories)
    for start in range(0, len(users), batch_users):
        batch = users[start : start + batch_users]
        tastes = [build_taste(model, histories[u], recent_limit) for u in batch]
        known = [t for t in tastes if t is not None]
        contents = iter(content_match_many(model, known))
        ranked: list[_Ranked] = []
        for user, taste in zip(batch, tastes, strict=True):
            content = None if taste is None else next(contents)
            excluded = (exclude_ids or {}).get(user, ())
            scored = _score(model, histories[user], taste, content, weights, media_type, excluded)
            ranked.append(_rank(scored, count, match))
        del contents
        yield from zip(batch, _picks_many(model, ranked, weights, count), strict=True)


def _picks_many(model: PreparedModel, ranked: Sequence[_Ranked], weights: Weights, count: int) -> list[list[Pick]]:
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


def _explained(model: PreparedModel, ranked: _Ranked, order: IntArray, nearest: FloatArray) -> list[Pick]:
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
