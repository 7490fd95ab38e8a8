"""Stored picks: a ``recommendation_run`` per refresh with its ``recommendation`` rows; old runs pruned."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from sidecar.media_types import MediaType
from sidecar.recommender import Pick
from sidecar.services import Services

KEEP_RUNS = 3  # finished runs kept per user and media type (the newest is the current list)


def _pick_row(pick: Pick, explanation: tuple[str, str] | None) -> dict[str, Any]:
    b = pick.breakdown
    components = {"taste": b.taste, "discovery": b.novelty, "quality": b.quality, "variety": b.variety}
    if b.cowatch is not None:
        components["cowatch"] = b.cowatch
    return {
        "item_id": int(pick.item_id),
        "rank": pick.rank,
        "score": b.final,
        "match_pct": pick.match_percent,
        "components": components,
        "genre_analysis": {"matching": list(pick.matching_genres), "new": list(pick.new_genres)},
        "evidence": [{"item_id": int(e.item_id), "title": e.title, "similarity": e.similarity} for e in pick.evidence],
        "explanation": explanation[0] if explanation else None,
        "explanation_source": explanation[1] if explanation else None,
    }


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One refresh of one user's list of one media type, as stored (``error``: the run failed, no picks)."""

    user_id: int
    media_type: str
    trigger: str
    model: str
    params: Mapping[str, Any]
    candidates: int
    picks: Sequence[Pick]
    explanations: Sequence[tuple[str, str] | None]
    started_at: datetime
    error: str | None = None


# The runs and every pick of them in one statement (one round trip however many): each run takes its id from the
# sequence in a CTE, and each pick finds its run by the run's place in the list (`slot`), not by a RETURNING order.
_INSERT_RUNS_AND_PICKS = text(
    "WITH runs AS MATERIALIZED ("
    " SELECT nextval(pg_get_serial_sequence('recommendation_run', 'id')) AS id, r.*"
    " FROM jsonb_to_recordset(CAST(:runs AS jsonb)) AS r(slot int, user_id int, media_type text, trigger text,"
    "  status text, model text, params jsonb, candidates int, error text, started_at timestamptz)"
    "), inserted AS ("
    " INSERT INTO recommendation_run"
    " (id, user_id, media_type, trigger, status, model, params, candidate_count, error, started_at, finished_at)"
    " SELECT id, user_id, media_type, trigger, status, model, params, candidates, error, started_at, now() FROM runs"
    "), picks AS ("
    " INSERT INTO recommendation (run_id, user_id, media_type, item_id, rank, score, match_pct, components,"
    " genre_analysis, evidence, explanation, explanation_source)"
    " SELECT runs.id, runs.user_id, runs.media_type, p.item_id, p.rank, p.score, p.match_pct, p.components,"
    " p.genre_analysis, p.evidence, p.explanation, p.explanation_source"
    " FROM jsonb_to_recordset(CAST(:picks AS jsonb)) AS p(slot int, item_id int, rank int, score float8,"
    " match_pct int, components jsonb, genre_analysis jsonb, evidence jsonb, explanation text,"
    " explanation_source text)"
    " JOIN runs ON runs.slot = p.slot"
    ")"
    " SELECT slot, id FROM runs ORDER BY slot"
)
_PRUNE_RUNS = text(
    "DELETE FROM recommendation_run r USING ("
    " SELECT id, row_number() OVER (PARTITION BY user_id, media_type ORDER BY id DESC) AS newest"
    " FROM recommendation_run"
    " WHERE (user_id, media_type) IN (SELECT * FROM unnest(CAST(:users AS int[]), CAST(:types AS text[])))"
    ") old WHERE r.id = old.id AND old.newest > :keep"
)


def to_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


async def store_runs(conn: AsyncConnection, runs: Sequence[RunRecord]) -> list[int]:
    """Write the runs and their picks in two statements whatever their number (in the caller's
    transaction); returns their ids, in order. Beyond ``KEEP_RUNS``, older runs of the same users and
    media types go (not after a failed run: the list it did not replace stays)."""
    if not runs:
        return []
    rows = [
        {
            "slot": slot,
            "user_id": run.user_id,
            "media_type": run.media_type,
            "trigger": run.trigger,
            "status": "failed" if run.error else "done",
            "model": run.model,
            "params": dict(run.params),
            "candidates": run.candidates,
            "error": run.error,
            "started_at": run.started_at.isoformat(),
        }
        for slot, run in enumerate(runs)
    ]
    picks = [
        {"slot": slot, **_pick_row(p, e)}
        for slot, run in enumerate(runs)
        for p, e in zip(run.picks, run.explanations, strict=True)
    ]
    result = await conn.execute(_INSERT_RUNS_AND_PICKS, {"runs": to_json(rows), "picks": to_json(picks)})
    ids = [int(run_id) for _, run_id in sorted(result.all())]
    done = sorted({(run.user_id, run.media_type) for run in runs if not run.error})
    if done:
        users, types = zip(*done, strict=True)
        await conn.execute(_PRUNE_RUNS, {"users": list(users), "types": list(types), "keep": KEEP_RUNS})
    return ids


async def store_run(
    conn: AsyncConnection,
    *,
    user_id: int,
    media_type: str,
    trigger: str,
    model: str,
    params: Mapping[str, Any],
    candidates: int,
    picks: Sequence[Pick],
    explanations: Sequence[tuple[str, str] | None],
    started_at: datetime,
    error: str | None = None,
) -> int:
    """Write one run and its picks (``store_runs`` of one)."""
    run = RunRecord(user_id, media_type, trigger, model, params, candidates, picks, explanations, started_at, error)
    return (await store_runs(conn, [run]))[0]


async def clear_recommendations(services: Services, media_type: MediaType) -> int:
    """Delete every run (and pick) of ``media_type``; returns the runs removed."""
    async with services.engine.begin() as conn:
        result = await conn.execute(text("DELETE FROM recommendation_run WHERE media_type = :m"), {"m": media_type})
    return int(getattr(result, "rowcount", 0) or 0)
