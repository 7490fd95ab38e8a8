"""Maximal marginal relevance (Carbonell & Goldstein, 1998) over item embeddings."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatMatrix = npt.NDArray[np.float32]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# One unit of cosine similarity costs this many standard deviations of relevance.
SIMILARITY_COST = 2.0


def mmr_order(relevance: FloatArray, vectors: FloatMatrix, count: int, diversity: float) -> tuple[IntArray, FloatArray]:
    """Greedy MMR: pick argmax (1 - diversity) * relevance - diversity * cost * max_sim.

    `relevance` is in standard deviations (z-scores); `vectors` are unit rows aligned with it.
    Returns the chosen positions (into `relevance`) and, for each, its largest cosine to an
    earlier pick (0 for the first). Ties go to the lower position, so the order is stable.
    """
    n = relevance.shape[0]
    chosen, nearest = mmr_order_many(
        relevance[None, :], vectors[None, :, :], np.ones((1, n), dtype=bool), min(count, n), diversity
    )
    return chosen[0], nearest[0]


def mmr_order_many(
    relevance: FloatArray, vectors: FloatMatrix, valid: BoolArray, count: int, diversity: float
) -> tuple[IntArray, FloatArray]:
    """`mmr_order` for a batch of users at once: `relevance` and `valid` are users x shortlist (a user's
    shortlist padded with invalid slots), `vectors` users x shortlist x d. Every user gets `count` picks
    among their valid slots, which must number at least `count` per user.

    Each step is one product and one argmax over the whole batch. (einsum, not one Gram matrix per user:
    that is four times the arithmetic for the 50 rows of it ever read, and BLAS stalls on a busy CPU.)
    """
    users, slots = relevance.shape
    chosen = np.zeros((users, count), dtype=np.int64)
    nearest = np.zeros((users, count))
    if count == 0 or users == 0:
        return chosen, nearest
    lam = min(max(diversity, 0.0), 1.0)
    base = np.where(valid, (1.0 - lam) * np.where(valid, relevance, 0.0), -np.inf)
    max_sim = np.zeros((users, slots))
    rows = np.arange(users)
    for step in range(count):
        value = base - (lam * SIMILARITY_COST) * max_sim
        pick = np.argmax(value, axis=1)
        chosen[:, step] = pick
        nearest[:, step] = max_sim[rows, pick]
        base[rows, pick] = -np.inf
        np.maximum(max_sim, np.einsum("usd,ud->us", vectors, vectors[rows, pick]), out=max_sim)
    return chosen, nearest
