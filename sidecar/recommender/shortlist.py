"""One user's shortlist: the most relevant candidates, best first, and the match scale that places them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sidecar.recommender.match import PRIOR, MatchCalibration, MatchScale
from sidecar.recommender.scoring import Scored
from sidecar.recommender.taste import Taste

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

SHORTLIST_FACTOR = 4
MIN_SHORTLIST = 100
PRESAMPLE = 2048  # values sampled to narrow the shortlist's partition


@dataclass(frozen=True, slots=True)
class Ranked:
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


def rank(scored: Scored, count: int, match: MatchCalibration | None) -> Ranked:
    shortlist, top = _shortlist(scored.relevance, scored.candidates, max(SHORTLIST_FACTOR * count, MIN_SHORTLIST))
    # The match scale only ever places picks, and every pick scores at least the shortlist's last; the
    # candidates below it count, their values do not: -inf stands in for them (no sort of every candidate).
    below = int(np.count_nonzero(scored.candidates)) - top.size
    ordered = np.concatenate([np.full(below, -np.inf), top]) if below else top
    scale = MatchScale(ordered, (match or PRIOR).for_user(cold_start=scored.profile is None))
    return Ranked(
        shortlist,
        scored.relevance[shortlist],
        scored.taste[shortlist],
        None if scored.cowatch is None else scored.cowatch[shortlist],
        scored.novelty[shortlist],
        scored.quality[shortlist],
        scored.profile,
        scale,
    )
