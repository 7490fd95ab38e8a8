"""Titles the server's viewers watched close together: item-item links decayed by the gap between plays.

EASE (`cowatch`) reads a history as a set. People watch in runs, though (a director, a franchise, the
season's releases), and the titles next to each other in someone's history say more about each other
than titles years apart. Each viewer's positive titles in play order give every pair within
`WINDOW` titles a link of `0.5 ** (gap / HALF_LIFE)` (the closest gap, once per viewer); a link's
strength is its summed decay over viewers, scaled by its support (`support / (support + SUPPORT_PRIOR)`,
so a pair one viewer happened to watch back to back counts for little) and divided by the square roots
of the two titles' viewer counts (cosine style), so popular titles do not link to everything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatMatrix = npt.NDArray[np.float32]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

WINDOW = 10
HALF_LIFE = 3.0
SUPPORT_PRIOR = 1.0
# The links need many viewers: on a household's handful they are mostly chance (cross-validated in
# `marquee evaluate`: full weight from 100 viewers; a family server of 8 gives them 7%).
FULL_CONFIDENCE_USERS = 100


def confidence(users: int) -> float:
    """Share of the session weight a server with `users` viewers gets (0 for one viewer)."""
    return min(1.0, max(0.0, (users - 1) / (FULL_CONFIDENCE_USERS - 1)))


@dataclass(frozen=True, slots=True)
class SessionCowatch:
    """Pair statistics over a vocabulary of catalogue positions; links are computed per user's rows."""

    vocabulary: IntArray
    slot_of: IntArray  # catalogue position -> vocabulary slot, -1 outside
    strength: FloatMatrix  # summed decay per pair, symmetric, zero diagonal
    support: npt.NDArray[np.uint16]  # viewers behind each pair
    viewers: FloatArray  # viewers per vocabulary slot
    users: int

    def links(self, rows: IntArray) -> FloatArray:
        """Link strengths from the vocabulary slots `rows` to every slot (len(rows) x vocabulary)."""
        support = self.support[rows].astype(np.float64)
        norm = np.sqrt(np.maximum(self.viewers, 1.0))
        shrunk = self.strength[rows] * (support / (support + SUPPORT_PRIOR))
        return np.asarray(shrunk / norm[rows][:, None] / norm[None, :], dtype=np.float64)

    def scores(self, item_indices: IntArray, item_weights: npt.NDArray[np.floating], n_items: int) -> FloatArray:
        """Summed link strength of every catalogue item to one user's weighted titles (0 outside)."""
        out = np.zeros(n_items)
        slots = self.slot_of[item_indices]
        keep = slots >= 0
        if keep.any():
            weights = np.asarray(item_weights, dtype=np.float64)[keep]
            out[self.vocabulary] = weights @ self.links(slots[keep])
        return out

    def held_out_score(
        self, play_order: IntArray, target: int, item_indices: IntArray, item_weights: npt.NDArray[np.floating]
    ) -> float:
        """`target`'s score from the weighted titles as if this viewer had never watched it.

        `play_order` is the viewer's titles as the model was built from them (oldest first, target
        included): their links to the target leave its strength and support, and they leave its viewers.
        """
        t = int(self.slot_of[target])
        slots = self.slot_of[item_indices]
        keep = slots >= 0
        if t < 0 or not keep.any():
            return 0.0
        rows = slots[keep]
        own = _own_links(self.slot_of[np.asarray(play_order, dtype=np.int64)], t, self.vocabulary.size)
        strength = self.strength[rows, t].astype(np.float64) - own[rows]
        support = self.support[rows, t].astype(np.float64) - (own[rows] > 0)
        viewers = self.viewers.copy()
        viewers[t] = max(0.0, viewers[t] - 1.0)
        norm = np.sqrt(np.maximum(viewers, 1.0))
        links = np.maximum(strength, 0.0) * (support / (support + SUPPORT_PRIOR)) / norm[rows] / norm[t]
        links[rows == t] = 0.0
        return float(np.asarray(item_weights, dtype=np.float64)[keep] @ links)


def _own_links(slots: IntArray, target: int, size: int) -> FloatArray:
    """One viewer's decay to `target` from each of the `size` vocabulary slots (the closest gap), 0 where none."""
    out = np.zeros(size)
    where = np.flatnonzero(slots == target)
    for k, slot in enumerate(slots.tolist()):
        if slot < 0 or slot == target or not where.size:
            continue
        gap = int(np.abs(where - k).min())
        if gap <= WINDOW:
            out[slot] = max(out[slot], 0.5 ** (gap / HALF_LIFE))
    return out


def build_session_cowatch(sequences: Sequence[IntArray], vocabulary: IntArray, n_items: int) -> SessionCowatch | None:
    """Pair statistics from each viewer's titles in play order (catalogue positions, oldest first).

    Only titles in `vocabulary` (the co-watch model's) take part. None when no pair links two titles.
    """
    slot_of = np.full(n_items, -1, dtype=np.int64)
    slot_of[vocabulary] = np.arange(vocabulary.size)
    size = vocabulary.size
    # float32 accumulators: two vocabulary-square matrices are the peak memory of a model build
    strength = np.zeros((size, size), dtype=np.float32)
    support = np.zeros((size, size), dtype=np.float32)
    viewers = np.zeros(size)
    for sequence in sequences:
        slots = slot_of[np.asarray(sequence, dtype=np.int64)]
        slots = slots[slots >= 0]
        seen = np.unique(slots)
        viewers[seen] += 1.0
        pairs = [(slots[:-gap], slots[gap:], gap) for gap in range(1, min(WINDOW, slots.size - 1) + 1)]
        if not pairs:
            continue
        a = np.concatenate([p[0] for p in pairs])
        b = np.concatenate([p[1] for p in pairs])
        w = np.concatenate([np.full(p[0].size, 0.5 ** (p[2] / HALF_LIFE)) for p in pairs])
        differ = a != b
        lo, hi, w = np.minimum(a, b)[differ], np.maximum(a, b)[differ], w[differ]
        # one viewer backs a pair once, with its closest gap
        key = lo * size + hi
        order = np.lexsort((-w, key))
        first = np.ones(order.size, dtype=bool)
        first[1:] = key[order][1:] != key[order][:-1]
        pick = order[first]
        np.add.at(strength, (lo[pick], hi[pick]), w[pick])
        np.add.at(support, (lo[pick], hi[pick]), 1.0)
    if not support.any():
        return None
    strength += strength.T
    support += support.T
    return SessionCowatch(
        vocabulary,
        slot_of,
        strength,
        np.minimum(support, np.iinfo(np.uint16).max).astype(np.uint16),
        viewers,
        sum(1 for s in sequences if len(s)),
    )
