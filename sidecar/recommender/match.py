"""Match %: how strongly a pick's score says "one of this user's kind of titles".

Calibration (the binormal model of signal-detection ROC analysis). A score becomes a normal
score: its mid-rank quantile among the user's candidates through the inverse normal CDF, so the
catalogue's scores are N(0, 1) by construction, whatever the components and their tails. The
user's taste titles, each scored leave-one-out (`held_out`: as if it had not been watched, so
none is its own best match), stand for the titles the user chooses; modelled as N(d', 1), their
mean normal score d' says how well the model separates this user's choices from the rest of the
catalogue (AUC = Phi(d' / sqrt 2)). The match is the posterior that a title scoring z is one of
the user's kind rather than an arbitrary catalogue title at even odds: the logistic of the
log-likelihood ratio d' z - d'^2 / 2 (equal variances keep it monotone in the score). d' is
shrunk by `PRIOR_TITLES` pseudo-titles at the catalogue average and floored at 0, so a short
history claims little and no usable history (cold start, a single title) gives 50% everywhere.
90% thus means odds of 9:1 for every user and catalogue: a top-0.1% pick shows ~71% at d' = 0.3,
~93% at d' = 1 and ~98% at d' = 2. On the evaluation data (60 users) the leave-one-out d'
matches the d' of the users' real next watches: means 1.04 vs 1.02 household, 1.82 vs 1.63
community, per-user correlation ~0.7; titles scored with themselves in the taste give 3.6 and
2.9, above nearly every pick (the old "1% match").
Deterministic; one sort of the candidate scores per user; it never changes the ranking.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

PRIOR_TITLES = 2.0  # pseudo-titles at the catalogue average in the estimate of d'
_NORMAL = NormalDist()


@dataclass(frozen=True, slots=True)
class MatchScale:
    """One user's calibration: their candidates' sorted scores and the separation d'."""

    sorted_candidates: FloatArray
    separation: float

    @classmethod
    def fit(cls, candidate_scores: FloatArray, reference: FloatArray | None) -> MatchScale:
        """`reference`: the user's held-out taste titles on the candidates' scale (None: no history)."""
        ordered = np.sort(candidate_scores)
        if reference is None or reference.size == 0 or ordered.size == 0:
            return cls(ordered, 0.0)
        normal = _normal_scores(ordered, reference)
        return cls(ordered, max(0.0, float(normal.sum()) / (normal.size + PRIOR_TITLES)))

    def percent(self, score: float) -> int:
        """The match of a title with this score, in 1..99."""
        if self.separation == 0.0 or self.sorted_candidates.size == 0:
            return 50
        z = float(_normal_scores(self.sorted_candidates, np.array([score]))[0])
        log_odds = self.separation * z - self.separation**2 / 2.0
        return int(min(99, max(1, round(100.0 / (1.0 + math.exp(-log_odds))))))


def _normal_scores(ordered: FloatArray, scores: FloatArray) -> FloatArray:
    """Mid-rank quantile of each score among `ordered`, kept off 0 and 1, as a N(0, 1) score."""
    n = ordered.size
    below = np.searchsorted(ordered, scores, side="left")
    at_most = np.searchsorted(ordered, scores, side="right")
    quantile = np.clip((below + at_most) / (2.0 * n), 0.5 / n, 1.0 - 0.5 / n)
    return np.array([_NORMAL.inv_cdf(float(q)) for q in quantile])
