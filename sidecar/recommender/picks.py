"""Per-user recommendations: score every candidate (`scoring`), shortlist (`shortlist`), re-rank for variety and
explain each pick (`pick_lists`). One user and many users go through the same code: one user is a block of one."""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Collection, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

from sidecar.recommender.match import MatchCalibration
from sidecar.recommender.pick_lists import picks_many
from sidecar.recommender.prepared_model import PreparedModel
from sidecar.recommender.scoring import (
    Scored,
    ToScore,
    cowatch_weight_for,
    excluded_items,
    score_block,
    score_candidates,
)
from sidecar.recommender.shortlist import rank
from sidecar.recommender.taste import build_taste
from sidecar.recommender.types import Pick, WatchEvent, Weights

__all__ = ["Scored", "cowatch_weight_for", "excluded_items", "recommend", "recommend_many", "score_candidates"]

BATCH_USERS = 64  # users scored together: their users x catalogue arrays take ~65 MB on 50,000 items


def recommend(
    model: PreparedModel,
    history: Sequence[WatchEvent],
    *,
    weights: Weights | None = None,
    count: int = 50,
    recent_limit: int = 100,
    media_type: str | None = None,
    exclude_ids: Collection[str] = (),
    match: MatchCalibration | None = None,
) -> list[Pick]:
    """Ranked, explained picks for one user. Deterministic for the same inputs.

    `history` is this user's events (a series is one event, rolled up from its episodes when the
    history is read); `recent_limit` caps how many recent titles shape the taste; `media_type` restricts the
    picks ("movie" or "series"); `exclude_ids` are further titles never to recommend.
    Each pick's match % maps its place among the user's candidates through `match`, the server's
    calibration fitted on what its users went on to watch (`sidecar.recommender.match`; default:
    the prior).
    """
    [(_, picks)] = recommend_many(
        model,
        {"": history},
        weights=weights,
        count=count,
        recent_limit=recent_limit,
        media_type=media_type,
        exclude_ids={"": exclude_ids},
        match=match,
    )
    return picks


def recommend_many(
    model: PreparedModel,
    histories: Mapping[str, Sequence[WatchEvent]],
    *,
    weights: Weights | None = None,
    count: int = 50,
    recent_limit: int = 100,
    media_type: str | None = None,
    exclude_ids: Mapping[str, Collection[str]] | None = None,
    batch_users: int = BATCH_USERS,
    match: MatchCalibration | None = None,
    workers: int = 1,
) -> Iterator[tuple[str, list[Pick]]]:
    """`recommend` for many users (the nightly job), yielding `(user, picks)` in sorted user order.

    The same picks as calling `recommend` per user (up to float rounding in the last digits of the
    scores): `batch_users` users are scored as one block (`scoring.score_block`: the catalogue-wide
    products for all of them at once) and re-ranked for variety together, several times faster per user.
    With `workers` > 1 that many blocks are computed at a time in threads (most of the work is numpy, which
    runs outside the GIL), still yielded in order; each block's memory is held until it is yielded.
    """
    weights = weights or Weights()
    users = sorted(histories)
    blocks = [users[start : start + batch_users] for start in range(0, len(users), batch_users)]

    def lists(batch: list[str]) -> list[list[Pick]]:
        scored = score_block(
            model,
            [
                ToScore(histories[u], build_taste(model, histories[u], recent_limit), (exclude_ids or {}).get(u, ()))
                for u in batch
            ],
            weights=weights,
            media_type=media_type,
        )
        return picks_many(model, [rank(one, count, match) for one in scored], weights, count)

    if workers <= 1:
        for batch in blocks:
            yield from zip(batch, lists(batch), strict=True)
        return
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="recommend-block")
    try:
        waiting = iter(blocks)
        ahead = deque((batch, pool.submit(lists, batch)) for batch in itertools.islice(waiting, workers))
        while ahead:
            batch, computing = ahead.popleft()
            done = computing.result()
            following = next(waiting, None)
            if following is not None:
                ahead.append((following, pool.submit(lists, following)))
            yield from zip(batch, done, strict=True)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
