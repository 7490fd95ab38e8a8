"""``marquee evaluate --server``: the offline quality protocol (``sidecar.evaluate``) on this server's own users.

Each enabled user's last ``holdout`` plays are held out; Marquee, popularity and content-only then rank the
catalogue from what came before, and NDCG@10, Recall@20 (the protocol's metrics, ``ranking_metrics``) and
hit rate@10 (share of users with a held-out title in their top 10) are averaged over the users with at least
``min_history`` plays left once the hold-out is taken away.

Inputs are the picks' own: the catalogue and every user's history from the process's snapshot
(``sidecar.picks_store.inputs``), Marquee's ranking is ``recommend`` with the stored weights, count and
recent-watch limit, exactly as ``sidecar.picks_store.refresh`` calls it.

No leakage. A held-out play must not reach any number the ranking is built from:

- the user's own history is cut at their first held-out play: that play, every later one, and anything else
  the user did after it (a title started, a favourite set) are gone, so a held-out title is neither excluded
  as "seen" nor part of the taste;
- the ``PreparedModel`` is rebuilt from the cut histories (``rebuild_model``): the co-watch model, the
  viewer counts (popularity, and the rating shrinkage that uses them) never see a held-out play. Reusing the
  snapshot's model would leak every held-out title through co-watch and popularity;
- popularity ranks by the rebuilt model's viewer counts; content-only by the cut history's titles.

As in the offline protocol's community regime, the plays of users who are not evaluated (too little history)
stay whole, and other users' plays that happened after someone's cut-off stay visible: one model per user and
cut-off would be exact in time but cost a model build per user. Match percentages (the server's calibration
from later watches) do not change the order and are not computed.

A "play" is a title finished (played, or at least half watched) with a date; titles seen without a date stay
in the history and are never held out. Copies of one title (same provider id) count as that title. A series is
one event (its episodes rolled up, dated by the latest one), so a show finished after the cut is held out whole
even when its first episodes came before it.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import text

from sidecar.evaluate import ranking_metrics
from sidecar.jobs.progress import Progress
from sidecar.media_types import MediaType, spec
from sidecar.picks_store.config import RecommendationConfig, load_config
from sidecar.picks_store.inputs import RECOMMENDER_TYPE, snapshot_for, started_series
from sidecar.recommender import PreparedModel, WatchEvent, prepare_model, recommend_many
from sidecar.recommender.picks import excluded_items
from sidecar.recommender.prepared_model import positive_event
from sidecar.services import Services

DEFAULT_HOLDOUT = 5
DEFAULT_MIN_HISTORY = 5
METHODS = ("marquee", "popularity", "content-only")
TOP = 20  # Recall@20 needs the top 20
CHUNK = 16  # users ranked per worker-thread hop


# --- the hold-out ----------------------------------------------------------------------------------


def is_finished(event: WatchEvent) -> bool:
    """A title the user finished, or watched at least half of."""
    return event.played or event.completion >= 0.5


def is_play(event: WatchEvent) -> bool:
    """A finished title with the date it happened (only those can be held out)."""
    return event.last_played is not None and is_finished(event)


@dataclass(frozen=True, slots=True)
class UserSplit:
    history: list[WatchEvent]  # what the user did before their first held-out play, oldest first
    held_out: list[str]  # item ids of their last plays, oldest first
    plays: int  # finished titles in ``history``


def split_user(events: Sequence[WatchEvent], holdout: int) -> UserSplit:
    """Cut one user's history at their ``holdout``-th last play (nothing held out with too few plays)."""
    ordered = sorted(events, key=lambda e: (e.last_played or 0.0, e.item_id))
    plays = [k for k, e in enumerate(ordered) if is_play(e)]
    if holdout <= 0 or len(plays) <= holdout:
        return UserSplit(list(ordered), [], sum(1 for e in ordered if is_finished(e)))
    history = ordered[: plays[-holdout]]
    held_out = [ordered[k].item_id for k in plays[-holdout:]]
    return UserSplit(history, held_out, sum(1 for e in history if is_finished(e)))


@dataclass(frozen=True, slots=True)
class HeldOut:
    """Every user's visible history once the evaluated users' last plays are taken away."""

    histories: dict[str, list[WatchEvent]]  # all users: what the model and the rankings may see
    tests: dict[str, list[str]]  # evaluated users: their held-out item ids
    plays: dict[str, int]  # every user with a finished title: finished titles in their visible history


def hold_out(
    histories: Mapping[str, Sequence[WatchEvent]],
    evaluated: Sequence[str],
    *,
    holdout: int,
    min_history: int,
    known: Mapping[str, int] | None = None,
) -> HeldOut:
    """Cut the histories of the ``evaluated`` users who have ``holdout`` + ``min_history`` plays.

    Events on titles outside ``known`` (the model's catalogue) are dropped first: they are never ranked.
    Users who are not cut keep their whole history (it feeds co-watch and popularity as on the server).
    """
    wanted = set(evaluated)
    visible: dict[str, list[WatchEvent]] = {}
    tests: dict[str, list[str]] = {}
    plays: dict[str, int] = {}
    for user, events in histories.items():
        kept = [e for e in events if known is None or e.item_id in known]
        split = split_user(kept, holdout)
        if user in wanted and split.held_out and split.plays >= min_history:
            visible[user], tests[user], plays[user] = split.history, split.held_out, split.plays
        else:
            visible[user] = sorted(kept, key=lambda e: (e.last_played or 0.0, e.item_id))
            finished = sum(1 for e in kept if is_finished(e))
            if finished:
                plays[user] = finished
    return HeldOut(visible, tests, plays)


def rebuild_model(model: PreparedModel, histories: Mapping[str, Sequence[WatchEvent]]) -> PreparedModel:
    """The same catalogue and vectors, with co-watch and viewer counts from ``histories`` only."""
    return prepare_model(model.items, model.vectors, histories)


# --- the baselines ---------------------------------------------------------------------------------


FloatArray = npt.NDArray[np.float64]


def _top(model: PreparedModel, scores: FloatArray, candidates: npt.NDArray[np.bool_], count: int) -> list[str]:
    pool = np.flatnonzero(candidates)
    order = np.lexsort((pool, -scores[pool]))[:count]
    return [model.items[int(pool[k])].item_id for k in order]


def candidates_for(
    model: PreparedModel, history: Sequence[WatchEvent], exclude: Sequence[str]
) -> npt.NDArray[np.bool_]:
    """What Marquee may recommend: not seen, not a copy of a seen title, not an excluded (started) series."""
    mask = ~excluded_items(model, history)
    if exclude:
        mask &= ~model.same_title(model.indices(list(exclude)))
    return mask


def popularity_ranking(
    model: PreparedModel, history: Sequence[WatchEvent], exclude: Sequence[str] = (), count: int = TOP
) -> list[str]:
    """Most viewers on this server first (ties: the better community rating)."""
    scores = model.viewers.astype(np.float64) * 100.0 + model.quality / 10.0
    return _top(model, scores, candidates_for(model, history, exclude), count)


def content_ranking(
    model: PreparedModel, history: Sequence[WatchEvent], exclude: Sequence[str] = (), count: int = TOP
) -> list[str]:
    """Cosine to the mean vector of the titles the user liked (the protocol's content-only baseline)."""
    liked = model.indices([e.item_id for e in history if positive_event(e)])
    liked = liked[model.has_vector[liked]] if liked.size else liked
    taste = model.vectors[liked].mean(axis=0) if liked.size else np.zeros(model.vectors.shape[1], dtype=np.float32)
    scores = (model.vectors @ taste).astype(np.float64)
    return _top(model, scores, candidates_for(model, history, exclude), count)


# --- scoring ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UserScore:
    user: str
    history: int  # plays in the visible history
    held_out: int
    ndcg10: dict[str, float]
    recall20: dict[str, float]
    hits10: dict[str, int]  # held-out titles in the top 10


def _canonical(model: PreparedModel, item_ids: Sequence[str]) -> list[str]:
    """Each id as its title's first copy, duplicates dropped, order kept."""
    seen: set[str] = set()
    out: list[str] = []
    for item_id in item_ids:
        pos = model.index.get(item_id)
        key = item_id if pos is None else model.items[int(model.duplicate_group[pos])].item_id
        if key not in seen:
            seen.add(key)
            out.append(key)
    return out


def score_user(
    model: PreparedModel, user: str, history_plays: int, held_out: Sequence[str], rankings: Mapping[str, Sequence[str]]
) -> UserScore:
    relevant = set(_canonical(model, held_out))
    ndcg: dict[str, float] = {}
    recall: dict[str, float] = {}
    hits: dict[str, int] = {}
    for method, ranked in rankings.items():
        top = _canonical(model, ranked)
        ndcg[method], recall[method] = (float(x) for x in ranking_metrics(top, relevant))
        hits[method] = sum(1 for item in top[:10] if item in relevant)
    return UserScore(user, history_plays, len(held_out), ndcg, recall, hits)


def rank_users(
    model: PreparedModel,
    held: HeldOut,
    config: RecommendationConfig,
    media_type: MediaType,
) -> Iterator[UserScore]:
    """Every evaluated user's three rankings, scored, in user order (run in a worker thread)."""
    users = sorted(held.tests, key=int)
    histories = {u: held.histories[u] for u in users}
    series = media_type == MediaType.SERIES
    exclude = {u: started_series(h) for u, h in histories.items()} if series else {}
    picks = recommend_many(
        model,
        histories,
        weights=config.weights,
        count=max(config.count, TOP),
        recent_limit=config.recent_limit,
        media_type=RECOMMENDER_TYPE[media_type],
        exclude_ids=exclude,
    )
    for user, user_picks in picks:
        history, excluded = histories[user], exclude.get(user, [])
        rankings = {
            "marquee": [p.item_id for p in user_picks[:TOP]],
            "popularity": popularity_ranking(model, history, excluded),
            "content-only": content_ranking(model, history, excluded),
        }
        yield score_user(model, user, held.plays[user], held.tests[user], rankings)


# --- a whole run -----------------------------------------------------------------------------------


@dataclass(slots=True)
class ServerEvaluation:
    """One media type's result, as stored in ``server_evaluation`` and shown on Admin → Quality."""

    media_type: str
    model: str | None
    holdout: int
    min_history: int
    items: int = 0
    users_with_history: int = 0
    users_evaluated: int = 0
    overall: dict[str, dict[str, float]] = field(default_factory=dict)
    per_user: list[dict[str, Any]] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


def overall_scores(scores: Sequence[UserScore]) -> dict[str, dict[str, float]]:
    """Per method: mean NDCG@10, Recall@20 and hit rate@10 over the users, and how many users."""
    out: dict[str, dict[str, float]] = {}
    for method in METHODS:
        if not scores:
            continue
        out[method] = {
            "ndcg10": float(np.mean([s.ndcg10[method] for s in scores])),
            "recall20": float(np.mean([s.recall20[method] for s in scores])),
            "hit10": float(np.mean([1.0 if s.hits10[method] else 0.0 for s in scores])),
            "users": float(len(scores)),
        }
    return out


async def _user_names(services: Services, media_type: MediaType) -> tuple[dict[str, str], list[str]]:
    """Every live user's name, and the users who get picks of ``media_type`` (the ones evaluated)."""
    column = spec(media_type).user_flag
    async with services.engine.connect() as conn:
        rows = (
            await conn.execute(
                text(f"SELECT id, name, NOT is_disabled AND {column} AS gets_picks FROM app_user WHERE gone_at IS NULL")
            )
        ).all()
    return {str(r[0]): str(r[1]) for r in rows}, sorted((str(r[0]) for r in rows if r[2]), key=int)


async def evaluate_server(
    services: Services,
    media_type: MediaType,
    *,
    holdout: int = DEFAULT_HOLDOUT,
    min_history: int = DEFAULT_MIN_HISTORY,
    progress: Progress | None = None,
) -> ServerEvaluation:
    """Run the protocol on this server's users for ``media_type`` (see the module docstring)."""
    if holdout < 1 or min_history < 1:
        raise ValueError("holdout and min_history must be at least 1")
    progress = progress or Progress.detached()
    started = time.perf_counter()
    snapshot = await snapshot_for(services, media_type, fresh_histories=True)
    config = await load_config(services, media_type)
    names, evaluated = await _user_names(services, media_type)
    result = ServerEvaluation(
        media_type=media_type,
        model=snapshot.model_name,
        holdout=holdout,
        min_history=min_history,
        params=config.as_params(),
    )
    if snapshot.model is None:
        progress.log(f"{media_type}: no titles to recommend yet")
        result.seconds = round(time.perf_counter() - started, 3)
        return result
    held = hold_out(snapshot.histories, evaluated, holdout=holdout, min_history=min_history, known=snapshot.model.index)
    model = await asyncio.to_thread(rebuild_model, snapshot.model, held.histories)
    result.items = model.size
    result.users_with_history = sum(1 for u in evaluated if held.plays.get(u))
    progress.log(
        f"{media_type}: {model.size} titles, {len(held.tests)} of {result.users_with_history} users with"
        f" {holdout + min_history}+ plays"
    )
    await progress.update(0, len(held.tests), f"evaluating {media_type}")
    ranking = rank_users(model, held, config, media_type)
    scores: list[UserScore] = []
    while chunk := await asyncio.to_thread(lambda: list(itertools.islice(ranking, CHUNK))):
        scores.extend(chunk)
        await progress.update(len(scores), len(held.tests), f"{media_type}: {len(scores)}/{len(held.tests)} users")
    result.users_evaluated = len(scores)
    result.overall = overall_scores(scores)
    result.per_user = [
        {
            "user_id": int(s.user),
            "name": names.get(s.user, s.user),
            "history": s.history,
            "held_out": s.held_out,
            "counted": True,
            "ndcg10": {m: round(v, 4) for m, v in s.ndcg10.items()},
            "hits10": s.hits10,
        }
        for s in scores
    ] + [
        {"user_id": int(u), "name": names.get(u, u), "history": held.plays[u], "held_out": 0, "counted": False}
        for u in evaluated
        if u not in held.tests and held.plays.get(u)
    ]
    result.seconds = round(time.perf_counter() - started, 3)
    return result
