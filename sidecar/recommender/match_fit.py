"""Fitting the match calibration on the server's own users' later watches (see `match`).

A time split per sampled user: the title they watched last is held out, their taste is built from
everything they watched before it, every candidate is scored from that earlier history exactly as a
pick is, and the held-out title is placed among those candidates as a normal score. The one input that
still knows the future is the co-watch model (fitted on every user's whole history, this user's last
title included): the held-out title's co-watch score is therefore recomputed as if this user had never
watched it (`CowatchModel.held_out_scores`, an exact leave-one-interaction-out refit), and so is its
session score (`SessionCowatch.held_out_score`: this user's links to it removed). Pure and
deterministic: users in sorted order, evenly spaced.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from sidecar.recommender import PreparedModel, WatchEvent, Weights
from sidecar.recommender.match import MatchCalibration, normal_scores
from sidecar.recommender.prepared_model import play_sequence, positive_event
from sidecar.recommender.scoring import Scored, ToScore, cowatch_weight_for, score_block
from sidecar.recommender.session_cowatch import confidence as session_confidence
from sidecar.recommender.taste import build_taste

CALIBRATION_USERS = 48
MIN_TITLES = 3  # a later watch and at least two titles before it
BLOCK_USERS = 64  # sampled users scored together (see `scoring.score_block`)


def sample_users(users: Sequence[str], limit: int = CALIBRATION_USERS) -> list[str]:
    """At most `limit` users, evenly spread over the sorted list (deterministic)."""
    ordered = sorted(users)
    if len(ordered) <= limit:
        return ordered
    step = len(ordered) / limit
    return [ordered[int(i * step)] for i in range(limit)]


def _without_own_links(
    model: PreparedModel, scored: Scored, weights: Weights, history: Sequence[WatchEvent], target: int
) -> float:
    """The target's relevance with its co-watch and session scores as if this user had never watched it."""
    relevance = float(scored.relevance[target])
    taste = scored.profile
    if taste is None or scored.spread < 1e-12:
        return relevance
    candidates = scored.candidates
    row = model.indices([e.item_id for e in history if positive_event(e)])
    shift = 0.0  # change of the weighted sum, before it is standardised
    cowatch = model.cowatch
    if cowatch is not None and scored.cowatch is not None:
        raw = cowatch.scores(taste.positions, taste.weights.astype(np.float32), model.size).astype(np.float64)
        positions = np.append(taste.positions, target)
        fixed = float(cowatch.held_out_scores(row, positions, np.append(taste.weights, 0.0))[-1])
        spread = float(raw[candidates].std())
        if spread >= 1e-12:
            shift += cowatch_weight_for(model, taste, weights) * (fixed - float(raw[target])) / spread
    sessions = model.sessions
    if sessions is not None and weights.session > 0:
        linked = sessions.scores(taste.positions, taste.weights, model.size)
        spread = float(linked[candidates].std())
        if spread >= 1e-12:
            fixed = sessions.held_out_score(play_sequence(history, model.index), target, taste.positions, taste.weights)
            shift += weights.session * session_confidence(sessions.users) * (fixed - float(linked[target])) / spread
    return relevance + shift / scored.spread


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
    eligible = [
        u
        for u, h in histories.items()
        if sum(1 for e in h if e.item_id in model.index and positive_event(e)) >= MIN_TITLES
    ]
    held_out: list[tuple[Sequence[WatchEvent], int, ToScore]] = []  # history, target, the earlier history to score
    for user in sample_users(eligible, max_users):
        history = histories[user]
        watched = [e for e in history if e.item_id in model.index and positive_event(e)]
        latest = max(watched, key=lambda e: (e.last_played or 0.0, e.item_id))
        target = model.index[latest.item_id]
        if media_type is not None and model.media_types[int(model.media_type_of[target])] != media_type:
            continue
        earlier = [e for e in history if e.item_id != latest.item_id]
        held_out.append((history, target, ToScore(earlier, build_taste(model, earlier, recent_limit))))
    out: list[float] = []
    for start in range(0, len(held_out), BLOCK_USERS):  # the sampled users' taste products together, in blocks
        block = held_out[start : start + BLOCK_USERS]
        scores = score_block(model, [one for _, _, one in block], weights=weights, media_type=media_type)
        for (history, target, _), scored in zip(block, scores, strict=True):
            if scored.profile is None or not scored.candidates[target]:
                continue
            pool = np.sort(scored.relevance[scored.candidates])
            if pool.size < 2:
                continue
            value = _without_own_links(model, scored, weights, history, target)
            out.append(float(normal_scores(pool, np.array([value]))[0]))
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
