"""Stored picks: a ``recommendation_run`` per refresh with its ``recommendation`` rows; old runs pruned."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
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


_INSERT_RUN = text(
    "INSERT INTO recommendation_run"
    " (user_id, media_type, trigger, status, model, params, candidate_count, error, started_at, finished_at)"
    " VALUES (:user_id, :media_type, :trigger, :status, :model, CAST(:params AS jsonb), :candidates, :error,"
    "  :started_at, now())"
    " RETURNING id"
)
# all picks of a run in one statement (one round trip instead of one per pick)
_INSERT_PICKS = text(
    "INSERT INTO recommendation (run_id, user_id, media_type, item_id, rank, score, match_pct, components,"
    " genre_analysis, evidence, explanation, explanation_source)"
    " SELECT :run_id, :user_id, :media_type, p.item_id, p.rank, p.score, p.match_pct, p.components,"
    " p.genre_analysis, p.evidence, p.explanation, p.explanation_source"
    " FROM jsonb_to_recordset(CAST(:picks AS jsonb)) AS p(item_id int, rank int, score float8, match_pct int,"
    " components jsonb, genre_analysis jsonb, evidence jsonb, explanation text, explanation_source text)"
)
_PRUNE_RUNS = text(
    "DELETE FROM recommendation_run WHERE user_id = :user_id AND media_type = :media_type AND id NOT IN ("
    " SELECT id FROM recommendation_run WHERE user_id = :user_id AND media_type = :media_type"
    " ORDER BY id DESC LIMIT :keep)"
)


def to_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


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
    """Write a run and its picks (in the caller's transaction); older runs beyond ``KEEP_RUNS`` go."""
    run_id = int(
        (
            await conn.execute(
                _INSERT_RUN,
                {
                    "user_id": user_id,
                    "media_type": media_type,
                    "trigger": trigger,
                    "status": "failed" if error else "done",
                    "model": model,
                    "params": to_json(dict(params)),
                    "candidates": candidates,
                    "error": error,
                    "started_at": started_at,
                },
            )
        ).scalar_one()
    )
    if picks:
        rows = [_pick_row(p, e) for p, e in zip(picks, explanations, strict=True)]
        await conn.execute(
            _INSERT_PICKS, {"run_id": run_id, "user_id": user_id, "media_type": media_type, "picks": to_json(rows)}
        )
    if not error:
        await conn.execute(_PRUNE_RUNS, {"user_id": user_id, "media_type": media_type, "keep": KEEP_RUNS})
    return run_id


async def clear_recommendations(services: Services, media_type: MediaType) -> int:
    """Delete every run (and pick) of ``media_type``; returns the runs removed."""
    async with services.engine.begin() as conn:
        result = await conn.execute(text("DELETE FROM recommendation_run WHERE media_type = :m"), {"m": media_type})
    return int(getattr(result, "rowcount", 0) or 0)
