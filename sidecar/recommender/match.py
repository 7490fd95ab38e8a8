"""Match %: "how likely is a title scoring this high to be one I would choose".

What it is calibrated on. The server's own users' later watches: for each user (an evenly spread,
deterministic sample of at most `CALIBRATION_USERS` per media type), the title they watched last is held
out, their taste is built from what they watched before it, every candidate is scored from that earlier
history exactly as a pick would be (the co-watch model, fitted on whole histories, scores the held-out
title as if this user had never watched it), and the held-out title is placed among the candidates as a
normal score: its mid-rank quantile through the inverse normal CDF (the candidates are N(0, 1) by
construction, whatever the score's components and tails). `match_fit.later_watch_scores` collects these;
`MatchCalibration.fit` pools them. On histories with no signal at all they average ~0 (tested).

The model (binormal ROC, equal variances). What users go on to watch is N(d', 1) on that scale;
an arbitrary candidate is N(0, 1). d' is the mean normal score of the later watches, shrunk towards
`PRIOR_SEPARATION` with `PRIOR_WATCHES` pseudo-watches, so a small server (a handful of users) leans
on the prior (d' ~ 1.0: the next watches of the 60 evaluation users in `shared/data` gave 1.02
household, 1.63 community) and a large server on its own users. The match is the posterior that a
title scoring z is one the user would choose rather than an arbitrary candidate, at even odds:
the logistic of the log-likelihood ratio d' z - d'^2 / 2, i.e. Platt scaling whose slope and
intercept come from the fitted d'. It is therefore strictly monotone in the score (it never
changes the ranking), the same mapping for every user of the server and media type (90% means
9:1 odds for everyone), and spread: a top-0.1% pick shows ~93% at d' = 1, the 50th of 500
candidates ~69%. d' is floored at `MIN_SEPARATION` so a server whose recent watches looked random
still ranks its badges rather than printing one flat value.

A new user (no usable history: picks are what the server watches most) gets the server's d' scaled
by `COLD_START_SHARE`: popularity predicts a first watch less well than a taste does.
Deterministic; one sort of the candidate scores per user.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

PRIOR_SEPARATION = 1.0  # d' of real users' next watches on the evaluation data
PRIOR_WATCHES = 12.0  # pseudo later-watches at the prior in the estimate of d'
MIN_SEPARATION = 0.35
MAX_SEPARATION = 3.0
COLD_START_SHARE = 0.5
_NORMAL = NormalDist()


@dataclass(frozen=True, slots=True)
class MatchCalibration:
    """The server's separation d' for one media type and how many later watches it rests on."""

    separation: float = PRIOR_SEPARATION
    watches: int = 0
    observed: float | None = None  # mean normal score of the later watches, before the prior

    @classmethod
    def fit(cls, later_watches: Sequence[float]) -> MatchCalibration:
        """Pool the normal scores of users' later watches with the prior."""
        values = [float(v) for v in later_watches if math.isfinite(v)]
        n = len(values)
        pooled = (sum(values) + PRIOR_WATCHES * PRIOR_SEPARATION) / (n + PRIOR_WATCHES)
        separation = min(MAX_SEPARATION, max(MIN_SEPARATION, pooled))
        return cls(round(separation, 4), n, round(sum(values) / n, 4) if n else None)

    def for_user(self, *, cold_start: bool) -> float:
        return self.separation * COLD_START_SHARE if cold_start else self.separation


PRIOR = MatchCalibration()


@dataclass(frozen=True, slots=True)
class MatchScale:
    """One user's scale: their candidates' sorted scores and the separation that applies to them."""

    sorted_candidates: FloatArray
    separation: float

    @classmethod
    def fit(
        cls, candidate_scores: FloatArray, calibration: MatchCalibration | None = None, *, cold_start: bool = False
    ) -> MatchScale:
        return cls(np.sort(candidate_scores), (calibration or PRIOR).for_user(cold_start=cold_start))

    def normal_score(self, score: float) -> float:
        return float(normal_scores(self.sorted_candidates, np.array([score]))[0])

    def percent(self, score: float) -> int:
        """The match of a title with this score, in 1..99."""
        if self.sorted_candidates.size == 0:
            return 50
        return percent_for(self.normal_score(score), self.separation)

    def percents(self, scores: Sequence[float]) -> list[int]:
        """The matches of a ranked list of picks. Picks that tie on the score (common for a new user,
        whose scores are popularity counts) take the top places of their tie, in list order, ahead of
        the tied titles that were not picked; so the badges follow the list rather than sitting on a
        plateau, and a higher score still never shows a lower match."""
        n = self.sorted_candidates.size
        if n == 0:
            return [50] * len(scores)
        values = np.asarray(scores, dtype=np.float64)
        below = np.searchsorted(self.sorted_candidates, values, side="left")
        at_most = np.searchsorted(self.sorted_candidates, values, side="right")
        seen: dict[float, int] = {}
        out: list[int] = []
        for value, low, high in zip(values.tolist(), below.tolist(), at_most.tolist(), strict=True):
            k = seen.get(value, 0)
            seen[value] = k + 1
            top = max(low + 1, high - k)  # 1-based ordinal place of this pick among the candidates
            quantile = min(max((top - 0.5) / n, 0.5 / n), 1.0 - 0.5 / n)
            out.append(percent_for(_NORMAL.inv_cdf(quantile), self.separation))
        return out


def percent_for(z: float, separation: float) -> int:
    log_odds = separation * z - separation**2 / 2.0
    return int(min(99, max(1, round(100.0 / (1.0 + math.exp(-log_odds))))))


def normal_scores(ordered: FloatArray, scores: FloatArray) -> FloatArray:
    """Mid-rank quantile of each score among `ordered`, kept off 0 and 1, as a N(0, 1) score."""
    n = ordered.size
    below = np.searchsorted(ordered, scores, side="left")
    at_most = np.searchsorted(ordered, scores, side="right")
    quantile = np.clip((below + at_most) / (2.0 * n), 0.5 / n, 1.0 - 0.5 / n)
    return np.array([_NORMAL.inv_cdf(float(q)) for q in quantile])
