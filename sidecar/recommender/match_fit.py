"""Fitting the match calibration on the server's own users' later watches (see `match`).

For each sampled user the title they watched last is scored as a pick would be, from the rest of
their history and as if unwatched (the leave-one-out reference `score_candidates` already computes
for the user's taste titles; the newest taste title is the first), and placed among that user's
candidates as a normal score. Pure and deterministic: users in sorted order, evenly spaced.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from sidecar.recommender import PreparedModel, WatchEvent, Weights
from sidecar.recommender.match import MatchCalibration, normal_scores
from sidecar.recommender.picks import score_candidates

CALIBRATION_USERS = 48
MIN_TITLES = 3  # a later watch and at least two titles before it


def sample_users(users: Sequence[str], limit: int = CALIBRATION_USERS) -> list[str]:
    """At most `limit` users, evenly spread over the sorted list (deterministic)."""
    ordered = sorted(users)
    if len(ordered) <= limit:
        return ordered
    step = len(ordered) / limit
    return [ordered[int(i * step)] for i in range(limit)]


def later_watch_scores(
    model: PreparedModel,
    histories: Mapping[str, Sequence[WatchEvent]],
    *,
    weights: Weights,
    recent_limit: int = 100,
    media_type: str | None = None,
    max_users: int = CALIBRATION_USERS,
) -> list[float]:
    """The normal score, among that user's candidates, of each sampled user's latest watch."""
    eligible = [u for u, h in histories.items() if len(h) >= MIN_TITLES]
    out: list[float] = []
    for user in sample_users(eligible, max_users):
        scored = score_candidates(
            model, histories[user], weights=weights, recent_limit=recent_limit, media_type=media_type
        )
        taste, reference = scored.profile, scored.reference
        if taste is None or reference is None or taste.positions.size < MIN_TITLES:
            continue
        if media_type is not None and model.media_types[int(model.media_type_of[taste.positions[0]])] != media_type:
            continue
        pool = np.sort(scored.relevance[scored.candidates])
        if pool.size < 2:
            continue
        out.append(float(normal_scores(pool, reference[:1])[0]))
    return out


def fit_match_calibration(
    model: PreparedModel,
    histories: Mapping[str, Sequence[WatchEvent]],
    *,
    weights: Weights,
    recent_limit: int = 100,
    media_type: str | None = None,
    max_users: int = CALIBRATION_USERS,
) -> MatchCalibration:
    return MatchCalibration.fit(
        later_watch_scores(
            model, histories, weights=weights, recent_limit=recent_limit, media_type=media_type, max_users=max_users
        )
    )
