"""Maximal marginal relevance (Carbonell & Goldstein, 1998) over item embeddings."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatMatrix = npt.NDArray[np.float32]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# One unit of cosine similarity costs this many standard deviations of relevance.
SIMILARITY_COST = 2.0


def mmr_order(relevance: FloatArray, vectors: FloatMatrix, count: int, diversity: float) -> tuple[IntArray, FloatArray]:
    """Greedy MMR: pick argmax (1 - diversity) * relevance - diversity * cost * max_sim.

    `relevance` is in standard deviations (z-scores); `vectors` are unit rows aligned with it.
    Returns the chosen positions (into `relevance`) and, for each, its largest cosine to an
    earlier pick (0 for the first). Ties go to the lower position, so the order is stable.
    """
    n = relevance.shape[0]
    count = min(count, n)
    chosen = np.empty(count, dtype=np.int64)
    nearest = np.zeros(count)
    if count == 0:
        return chosen, nearest
    max_sim = np.zeros(n)
    available = np.ones(n, dtype=bool)
    lam = min(max(diversity, 0.0), 1.0)
    for step in range(count):
        value = (1.0 - lam) * relevance - lam * SIMILARITY_COST * max_sim
        value[~available] = -np.inf
        pick = int(np.argmax(value))
        chosen[step] = pick
        nearest[step] = max_sim[pick]
        available[pick] = False
        np.maximum(max_sim, np.einsum("ij,j->i", vectors, vectors[pick]), out=max_sim)
    return chosen, nearest
