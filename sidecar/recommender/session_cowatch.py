"""Titles the server's viewers watched close together: item-item links decayed by the gap between plays.

EASE (`cowatch`) reads a history as a set. People watch in runs, though (a director, a franchise, the
season's releases), and the titles next to each other in someone's history say more about each other
than titles years apart. Each viewer's positive titles in play order give every pair within
`WINDOW` titles a link of `0.5 ** (gap / HALF_LIFE)`; a link's strength is then its summed decay over
viewers, scaled by its support (`support / (support + SUPPORT_PRIOR)`, so a pair one viewer happened
to watch back to back counts for little) and normalised by the two titles' popularity (cosine style),
so popular titles do not link to everything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatMatrix = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]

WINDOW = 10
HALF_LIFE = 3.0
SUPPORT_PRIOR = 1.0


@dataclass(frozen=True, slots=True)
class SessionCowatch:
    """Symmetric link strengths over a vocabulary of catalogue positions."""

    vocabulary: IntArray
    slot_of: IntArray  # catalogue position -> vocabulary slot, -1 outside
    links: FloatMatrix  # len(vocabulary) x len(vocabulary), zero diagonal

    def scores(self, item_indices: IntArray, item_weights: npt.NDArray[np.floating], n_items: int) -> FloatMatrix:
        """Summed link strength of every catalogue item to one user's weighted titles (0 outside)."""
        out = np.zeros(n_items, dtype=np.float32)
        slots = self.slot_of[item_indices]
        keep = slots >= 0
        if keep.any():
            weights = np.asarray(item_weights, dtype=np.float32)[keep]
            out[self.vocabulary] = np.einsum("i,ij->j", weights, self.links[slots[keep]])
        return out


def build_session_cowatch(
    sequences: Sequence[IntArray], vocabulary: IntArray, n_items: int
) -> SessionCowatch | None:
    """Links from each viewer's titles in play order (catalogue positions, oldest first).

    Only titles in `vocabulary` (the co-watch model's) take part. None when no pair links two titles.
    """
    slot_of = np.full(n_items, -1, dtype=np.int64)
    slot_of[vocabulary] = np.arange(vocabulary.size)
    size = vocabulary.size
    strength = np.zeros((size, size), dtype=np.float64)
    support = np.zeros((size, size), dtype=np.float64)
    for sequence in sequences:
        slots = slot_of[np.asarray(sequence, dtype=np.int64)]
        slots = slots[slots >= 0]
        a_all: list[IntArray] = []
        b_all: list[IntArray] = []
        w_all: list[npt.NDArray[np.float64]] = []
        for gap in range(1, min(WINDOW, slots.size - 1) + 1):
            a, b = slots[:-gap], slots[gap:]
            differ = a != b
            a_all.append(a[differ])
            b_all.append(b[differ])
            w_all.append(np.full(int(differ.sum()), 0.5 ** (gap / HALF_LIFE)))
        if not a_all:
            continue
        a = np.concatenate(a_all)
        b = np.concatenate(b_all)
        w = np.concatenate(w_all)
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        # one viewer backs a pair once, with its closest gap
        key = lo * size + hi
        order = np.lexsort((-w, key))
        first = np.ones(order.size, dtype=bool)
        first[1:] = key[order][1:] != key[order][:-1]
        pick = order[first]
        pair_best = w[pick]
        np.add.at(strength, (lo[pick], hi[pick]), pair_best)
        np.add.at(support, (lo[pick], hi[pick]), 1.0)
    if not support.any():
        return None
    strength += strength.T
    support += support.T
    viewers = np.zeros(size)
    for sequence in sequences:
        slots = np.unique(slot_of[np.asarray(sequence, dtype=np.int64)])
        viewers[slots[slots >= 0]] += 1.0
    norm = np.sqrt(np.maximum(viewers, 1.0))
    links = strength * (support / (support + SUPPORT_PRIOR)) / norm[:, None] / norm[None, :]
    np.fill_diagonal(links, 0.0)
    return SessionCowatch(vocabulary, slot_of, links.astype(np.float32))
