"""z-scores over one user's candidates, in as few passes over the catalogue as the candidates allow."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

MIN_STD = 1e-12  # below this a component is constant over the candidates: all zeros


@dataclass(frozen=True, slots=True)
class Pool:
    """A user's candidates as the statistics read them. Most users' candidates are nearly the whole catalogue
    (all but their history): then sums run over the catalogue and leave out the few `outside` positions, instead
    of copying every candidate out first; otherwise (a media-type filter on a mixed catalogue) they are copied."""

    mask: BoolArray
    size: int
    outside: IntArray | None  # None: few enough candidates that they are gathered

    @classmethod
    def of(cls, mask: BoolArray) -> Pool:
        size = int(np.count_nonzero(mask))
        few_outside = mask.size - size <= mask.size // 4
        return cls(mask, size, np.flatnonzero(~mask) if few_outside else None)


def zscores(values: FloatArray, pool: Pool) -> tuple[FloatArray, float]:
    """`values` standardised by the mean and std of the candidates' values (a new array), and that std;
    all zeros and 0.0 when the candidates' values are constant (or there are none)."""
    n = pool.size
    if n == 0:
        return np.zeros(values.shape), 0.0
    if pool.outside is None:
        sample = values[pool.mask]
        mean = float(sample.sum()) / n
        centred = values - mean
        sample -= mean
        square_sum = float(np.einsum("i,i->", sample, sample))
    else:
        outside = pool.outside
        mean = (float(values.sum()) - float(values[outside].sum())) / n
        centred = values - mean
        # the spread of the candidates alone (not a difference of two sums, which would not be 0 for a constant)
        kept = centred[outside]
        centred[outside] = 0.0
        square_sum = float(np.einsum("i,i->", centred, centred))
        centred[outside] = kept
    std = math.sqrt(square_sum / n)
    if std < MIN_STD:
        return np.zeros(values.shape), 0.0
    centred /= std
    return centred, std


def standardised(values: FloatArray, pool: Pool) -> FloatArray:
    """Standardise against the user's candidates; a constant component becomes all zeros."""
    return zscores(values, pool)[0]
