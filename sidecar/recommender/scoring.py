"""Scoring: every candidate's component z-scores, for a block of users at once (one user is a block of one).

The taste product (taste centroids x item vectors) is computed for the whole block at once, as is each user's
genre match per distinct set of genres and era match per distinct year (then spread over the catalogue); the
rest (standardising over each user's candidates, co-watch, session links, shared people) user by user, by the
same code whatever the block's size. So a user scores the same alone as in a block, up to the float rounding
of the products.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sidecar.recommender.prepared_model import PreparedModel
from sidecar.recommender.session_cowatch import confidence as session_confidence
from sidecar.recommender.taste import (
    Taste,
    build_taste,
    content_match_many,
    era_match_many,
    genre_overlap_many,
    people_match,
)
from sidecar.recommender.types import WatchEvent, Weights
from sidecar.recommender.zscores import Pool, standardised, zscores

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

IN_PROGRESS_FRACTION = 0.05
ERA_SHARE = 0.6  # weight of era habit inside the taste-match component
COWATCH_FULL_CONFIDENCE_USERS = 8  # below this many users the co-watch weight is scaled down


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


@dataclass(frozen=True, slots=True)
class ToScore:
    """One user of a block: their history, their taste built from it, and further titles never to recommend."""

    history: Sequence[WatchEvent]
    taste: Taste | None
    exclude_ids: Collection[str] = ()


@dataclass(frozen=True, slots=True)
class _Shared:
    """What every user of a block reads the same: the media-type filter and the catalogue-wide constants."""

    of_type: BoolArray | None  # None: every media type
    log_viewers: FloatArray
    genre_count: FloatArray  # each genre set's size, at least 1
    genre_scale: FloatArray  # its square root
    has_genres: BoolArray  # per genre set
    all_embedded: bool


@dataclass(frozen=True, slots=True)
class _TasteTerms:
    """One user's catalogue-wide taste terms (rows of the block's arrays)."""

    content: FloatArray
    era: FloatArray
    genre: FloatArray
    novelty: FloatArray  # raw: 0.7 genre novelty + 0.3 (1 - era)


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
    user = ToScore(history, build_taste(model, history, recent_limit), exclude_ids)
    return next(score_block(model, [user], weights=weights, media_type=media_type))


def score_block(
    model: PreparedModel, users: Sequence[ToScore], *, weights: Weights, media_type: str | None
) -> Iterator[Scored]:
    """Each user's `Scored`, in order. The block's taste product comes first, in one go: peak memory is about
    (3 centroids x 4 bytes + 8 bytes) x users x catalogue size, ~65 MB for 64 users x 50,000 items."""
    shared = _shared(model, media_type)
    terms = _taste_terms(model, [u.taste for u in users if u.taste is not None], shared, weights)
    for user in users:
        candidates = _candidates(model, user, shared)
        yield _score_user(model, user.taste, None if user.taste is None else next(terms), candidates, shared, weights)


def _shared(model: PreparedModel, media_type: str | None) -> _Shared:
    of_type: BoolArray | None = None
    if media_type is not None:
        of_type = (
            model.media_type_of == model.media_types.index(media_type)
            if media_type in model.media_types
            else np.zeros(model.size, dtype=bool)
        )
    counts = model.genre_sets.matrix.sum(axis=1)
    at_least_one = np.maximum(counts, 1.0)
    return _Shared(
        of_type,
        np.log1p(model.viewers.astype(np.float64)),
        at_least_one,
        np.sqrt(at_least_one),
        counts > 0,
        bool(model.has_vector.all()),
    )


def _candidates(model: PreparedModel, user: ToScore, shared: _Shared) -> BoolArray:
    candidates = ~excluded_items(model, user.history)
    if user.exclude_ids:
        candidates &= ~model.same_title(model.indices(list(user.exclude_ids)))
    if shared.of_type is not None:
        candidates &= shared.of_type
    return candidates


def _taste_terms(
    model: PreparedModel, tastes: Sequence[Taste], shared: _Shared, weights: Weights
) -> Iterator[_TasteTerms]:
    """The taste terms of every user of the block, from one product per kind, spread over the catalogue one
    user at a time (as they are scored)."""
    if not tastes:
        return
    contents = content_match_many(model, tastes)
    era_tables = era_match_many(model, tastes)  # users x distinct years
    n_genres = model.genre_matrix.shape[1]
    shares = np.stack([t.genre_share for t in tastes])  # users x G
    most = shares.max(axis=1, initial=0.0)
    overlap = genre_overlap_many(model, shares)  # users x genre sets: summed share of each set's genres
    norms = np.maximum(np.linalg.norm(shares, axis=1), 1e-12)
    of_set, of_year = model.genre_sets.of_item, model.year_of
    for k, content in enumerate(contents):
        # per genre set and per year, then spread over the catalogue (the same values, far fewer to compute)
        row = overlap[k]
        genre = np.zeros(model.size)
        if n_genres and weights.genre > 0:
            genre = (row / shared.genre_scale / norms[k])[of_set]
        if n_genres and most[k] > 0:
            # 0 when every genre of the item is among the user's most watched, 1 when all are new (0.5: no genres)
            genre_novelty = np.where(shared.has_genres, 1.0 - row / most[k] / shared.genre_count, 0.5)[of_set]
        else:
            genre_novelty = np.full(model.size, 0.5)
        era = era_tables[k][of_year]
        yield _TasteTerms(content, era, genre, 0.7 * genre_novelty + 0.3 * (1.0 - era))


def _score_user(
    model: PreparedModel,
    taste: Taste | None,
    terms: _TasteTerms | None,
    candidates: BoolArray,
    shared: _Shared,
    weights: Weights,
) -> Scored:
    pool = Pool.of(candidates)
    quality = standardised(model.quality, pool)
    if taste is None or terms is None:
        # Cold start: what this server's viewers watch most, then community rating.
        popular = standardised(shared.log_viewers, pool)
        zero = np.zeros(model.size)
        relevance = standardised(popular + quality, pool)
        return Scored(candidates, zero, None, quality, zero, relevance, None)

    # A title not embedded yet (first picks come before the embeddings) sits at the candidates' mean content match.
    if shared.all_embedded:
        taste_z = standardised(terms.content, pool)
    else:
        content = standardised(terms.content, Pool.of(candidates & model.has_vector))
        taste_z = np.where(model.has_vector, content, 0.0)
    taste_z += ERA_SHARE * standardised(terms.era, pool)
    if weights.genre > 0:
        taste_z += weights.genre * standardised(terms.genre, pool)
    if weights.people > 0:
        taste_z += weights.people * standardised(people_match(model, taste), pool)
    novelty = standardised(terms.novelty, pool)
    total = weighted_total(weights, taste_z, quality, novelty)
    if weights.popularity > 0:
        total += weights.popularity * standardised(shared.log_viewers, pool)

    cowatch_z: FloatArray | None = None
    cowatch = model.cowatch
    if cowatch is not None and weights.cowatch > 0:
        raw = cowatch.scores(taste.positions, taste.weights.astype(np.float32), model.size).astype(np.float64)
        if _any_candidate(raw, cowatch.vocabulary, candidates):
            cowatch_z = standardised(raw, pool)
            total += cowatch_weight_for(model, taste, weights) * cowatch_z
    sessions = model.sessions
    if sessions is not None and weights.session > 0:
        linked = sessions.scores(taste.positions, taste.weights, model.size)
        if _any_candidate(linked, sessions.vocabulary, candidates):
            total += weights.session * session_confidence(sessions.users) * standardised(linked, pool)
    relevance, spread = zscores(total, pool)
    return Scored(candidates, taste_z, cowatch_z, quality, novelty, relevance, taste, spread)


def _any_candidate(scores: FloatArray, vocabulary: IntArray, candidates: BoolArray) -> bool:
    """Does a candidate score anything? (only the vocabulary's titles can)"""
    return bool(scores[vocabulary][candidates[vocabulary]].any())


def cowatch_weight_for(model: PreparedModel, taste: Taste, weights: Weights) -> float:
    """The co-watch weight for one user: scaled down on a server of few viewers, and by the share of the
    user's (weighted) titles anyone else watched, so co-watch from a couple of shared titles cannot
    outvote a whole history nobody else watched (on a large server the share is about 1)."""
    if model.cowatch is None:
        return 0.0
    confidence = min(1.0, (model.cowatch.users - 1) / (COWATCH_FULL_CONFIDENCE_USERS - 1))
    shared = float(taste.weights[model.viewers[taste.positions] >= 2].sum())
    return weights.cowatch * confidence * shared


def weighted_total(weights: Weights, taste_z: FloatArray, quality_z: FloatArray, novelty_z: FloatArray) -> FloatArray:
    # Discovery is a bonus for titles outside the user's habits; familiar titles are not
    # pushed down for being familiar (that is the taste component's business).
    discovery = np.maximum(novelty_z, 0.0)
    return weights.similarity * taste_z + weights.rating * quality_z + weights.novelty * discovery
