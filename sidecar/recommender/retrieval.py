"""Channel (AI playlist) retrieval on the prepared matrix.

A channel ranks the titles that pass its genre filter by how well they fit what the owner asked for:

- **relevance**: cosine similarity to the examples' mean vector and to the embedded text preference;
- **the text's genres** (pseudo-relevance feedback): the titles nearest the text preference say which genres
  the words mean ("heartwarming comedies" -> mostly Comedy, some Family and Romance, hardly any Horror). Each
  title gains by the share its genres hold among those nearest titles, relative to how common the genre is,
  so a horror film that happens to sit near the words no longer makes a comedy channel;
- **the owner's taste**: a light pull towards the owner's own taste centroids (``taste.content_match``);
- **quality**: a small share for the shrunk community rating.

Pure and deterministic: no sampling, ties broken by catalogue position.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np
import numpy.typing as npt

from sidecar.recommender.prepared_model import PreparedModel
from sidecar.recommender.taste import Taste, content_match

FloatArray = npt.NDArray[np.float64]

# Share of a channel item's score that comes from its (shrunk) community rating.
CHANNEL_QUALITY_SHARE = 0.1
# How many titles nearest the text preference describe what its words mean, genre-wise.
TEXT_FEEDBACK_TITLES = 20
# Weight of the text's genres next to the similarity (similarities spread over ~0.3 on a sentence model);
# 20 titles and 0.4 measured best on the real catalogue, with a plateau from 0.25 to 0.6 (bench_channel_precision).
TEXT_GENRE_WEIGHT = 0.4
# Weight of the owner's taste next to the similarity: a tie-breaker among titles that fit the request.
TASTE_WEIGHT = 0.15


def _ranked(scores: FloatArray, allowed: npt.NDArray[np.bool_], count: int) -> list[tuple[int, float]]:
    pool = np.flatnonzero(allowed)
    if count <= 0 or pool.size == 0:
        return []
    if pool.size > count:
        pool = pool[np.argpartition(-scores[pool], count - 1)[:count]]
    pool = pool[np.lexsort((pool, -scores[pool]))]
    return [(int(p), round(float(scores[p]), 4)) for p in pool]


def _unit(vector: npt.ArrayLike) -> FloatArray | None:
    v = np.asarray(vector, dtype=np.float64).ravel()
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else None


def text_genre_fit(model: PreparedModel, text_sims: FloatArray, pool: npt.NDArray[np.bool_]) -> FloatArray:
    """Per title, 0..1: how strongly its genres are what the titles nearest the text have, beyond chance."""
    candidates = np.flatnonzero(pool & model.has_vector)
    if candidates.size == 0 or model.genre_matrix.shape[1] == 0:
        return np.zeros(model.size)
    k = min(TEXT_FEEDBACK_TITLES, candidates.size)
    top = candidates[np.argpartition(-text_sims[candidates], k - 1)[:k]]
    weights = np.maximum(text_sims[top], 0.0) + 1e-6
    genres = model.genre_matrix.astype(np.float64)
    share = weights @ genres[top] / weights.sum()  # G: share of the nearest titles with each genre
    base = genres[candidates].mean(axis=0)  # G: how common each genre is
    lift = np.clip(share - base, 0.0, None)  # only genres the text asks for more than chance
    if float(lift.max(initial=0.0)) <= 0:
        return np.zeros(model.size)
    lift = lift / float(lift.max())
    return np.asarray(np.clip(genres @ lift, 0.0, 1.0), dtype=np.float64)


def channel_items(
    model: PreparedModel,
    *,
    genres: Sequence[str] = (),
    example_ids: Sequence[str] = (),
    preference_vector: npt.ArrayLike | None = None,
    taste: Taste | None = None,
    exclude_ids: Collection[str] = (),
    media_type: str | None = None,
    count: int = 20,
    text_genres: bool = True,
) -> list[tuple[str, float]]:
    """Items for a channel: any-overlap genre filter, then relevance to the examples and the text preference,
    the genres the text means (``text_genres``), the owner's ``taste`` and quality (see the module doc).

    Embed the text preference with the same ``Embedder`` as the catalogue. Without examples or text, items rank
    by quality (and taste). ``exclude_ids`` (e.g. watched) and copies of the examples are dropped. With
    ``text_genres`` off and no ``taste`` this is the earlier ranking (seed = examples' mean + unit text vector),
    which ``benchmarks.bench_channel_precision`` measures against.
    """
    allowed = np.ones(model.size, dtype=bool)
    if genres:
        wanted = [model.genres.index(g) for g in genres if g in model.genres]
        allowed &= model.genre_matrix[:, wanted].sum(axis=1) > 0 if wanted else False
    if media_type is not None:
        allowed &= (
            model.media_type_of == model.media_types.index(media_type) if media_type in model.media_types else False
        )
    examples = model.indices(list(example_ids))
    allowed &= ~model.same_title(np.concatenate([examples, model.indices(list(exclude_ids))]))

    seed = np.zeros(model.vectors.shape[1], dtype=np.float64)
    if examples.size:
        seed += model.vectors[examples].mean(axis=0)
    pref = _unit(preference_vector) if preference_vector is not None else None
    if pref is not None:
        seed += pref
    quality = (model.quality - model.quality.min()) / max(float(np.ptp(model.quality)), 1e-12)
    relevance = np.zeros(model.size)
    if np.linalg.norm(seed) > 0:
        relevance = np.asarray(model.vectors @ (seed / np.linalg.norm(seed)).astype(np.float32), dtype=np.float64)
    if pref is not None and text_genres:
        text_sims = np.asarray(model.vectors @ pref.astype(np.float32), dtype=np.float64)
        relevance = relevance + TEXT_GENRE_WEIGHT * text_genre_fit(model, text_sims, allowed)
    if taste is not None and taste.centroids.shape[0]:
        relevance = relevance + TASTE_WEIGHT * content_match(model, taste)
    has_signal = np.linalg.norm(seed) > 0 or taste is not None
    scores = (1.0 - CHANNEL_QUALITY_SHARE) * relevance + CHANNEL_QUALITY_SHARE * quality if has_signal else quality
    return [(model.items[p].item_id, s) for p, s in _ranked(np.asarray(scores, dtype=np.float64), allowed, count)]
