"""Per-user recommendations: score every candidate (`scoring`), shortlist (`shortlist`), re-rank for variety and
explain each pick (`pick_lists`). One user and many users go through the same code: one user is a block of one."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence

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

BATCH_USERS = 64  # users scored together: their users x catalogue arrays take ~0.1 GB on 50,000 items


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
) -> Iterator[tuple[str, list[Pick]]]:
    """`recommend` for many users (the nightly job), yielding `(user, picks)` in sorted user order.

    The same picks as calling `recommend` per user (up to float rounding in the last digits of the
    scores): `batch_users` users are scored as one block (`scoring.score_block`: the catalogue-wide
    products for all of them at once) and re-ranked for variety together, several times faster per user.
    """
    weights = weights or Weights()
    users = sorted(histories)
    for start in range(0, len(users), batch_users):
        batch = users[start : start + batch_users]
        block = [
            ToScore(histories[u], build_taste(model, histories[u], recent_limit), (exclude_ids or {}).get(u, ()))
            for u in batch
        ]
        ranked = [
            rank(scored, count, match) for scored in score_block(model, block, weights=weights, media_type=media_type)
        ]
        yield from zip(batch, picks_many(model, ranked, weights, count), strict=True)
