"""Channel (AI playlist) retrieval on the prepared matrix."""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np
import numpy.typing as npt

from sidecar.recommender.prepared_model import PreparedModel

FloatArray = npt.NDArray[np.float64]

# Share of a channel item's score that comes from its (shrunk) community rating.
CHANNEL_QUALITY_SHARE = 0.1


def _ranked(scores: FloatArray, allowed: npt.NDArray[np.bool_], count: int) -> list[tuple[int, float]]:
    pool = np.flatnonzero(allowed)
    if count <= 0 or pool.size == 0:
        return []
    if pool.size > count:
        pool = pool[np.argpartition(-scores[pool], count - 1)[:count]]
    pool = pool[np.lexsort((pool, -scores[pool]))]
    return [(int(p), round(float(scores[p]), 4)) for p in pool]


def channel_items(
    model: PreparedModel,
    *,
    genres: Sequence[str] = (),
    example_ids: Sequence[str] = (),
    preference_vector: npt.ArrayLike | None = None,
    exclude_ids: Collection[str] = (),
    media_type: str | None = None,
    count: int = 20,
) -> list[tuple[str, float]]:
    """Items for a channel: any-overlap genre filter, then similarity to a seed.

    The seed is the mean of the example items' vectors plus the embedded text preference
    (embed it with the same `Embedder` as the catalogue). Without a seed, items rank by
    quality. Deterministic: no sampling; `exclude_ids` (e.g. watched) and copies are dropped.
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
    if preference_vector is not None:
        pref = np.asarray(preference_vector, dtype=np.float64).ravel()
        seed += pref / max(float(np.linalg.norm(pref)), 1e-12)
    quality = (model.quality - model.quality.min()) / max(float(np.ptp(model.quality)), 1e-12)
    if np.linalg.norm(seed) > 0:
        sims = model.vectors @ (seed / np.linalg.norm(seed)).astype(np.float32)
        scores = (1.0 - CHANNEL_QUALITY_SHARE) * sims + CHANNEL_QUALITY_SHARE * quality
    else:
        scores = quality
    return [(model.items[p].item_id, s) for p, s in _ranked(np.asarray(scores, dtype=np.float64), allowed, count)]
