"""A user's recommendation runs, newest first: when, why (trigger), how it went, how many picks it holds.

Marquee keeps the newest few finished runs per user and media type (``picks_store.runs.KEEP_RUNS``) and
every failed one until then, so this is the recent history, not all time.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from sidecar.db.models import Recommendation, RecommendationRun
from sidecar.web.read_models.shared import iso


def _seconds(run: RecommendationRun) -> float | None:
    if run.finished_at is None or run.started_at is None:
        return None
    return round(max(0.0, (run.finished_at - run.started_at).total_seconds()), 2)


async def recommendation_runs(
    session: AsyncSession, user_id: int, media_type: str | None = None, limit: int = 50, offset: int = 0
) -> list[dict[str, Any]]:
    picks = (
        select(Recommendation.run_id, func.count().label("picks"))
        .where(Recommendation.user_id == user_id)
        .group_by(col(Recommendation.run_id))
        .subquery()
    )
    query = (
        select(RecommendationRun, picks.c.picks)
        .outerjoin(picks, picks.c.run_id == RecommendationRun.id)
        .where(RecommendationRun.user_id == user_id)
    )
    if media_type is not None:
        query = query.where(RecommendationRun.media_type == media_type)
    rows = (await session.exec(query.order_by(col(RecommendationRun.id).desc()).offset(offset).limit(limit))).all()
    return [
        {
            "id": run.id,
            "media_type": run.media_type,
            "trigger": run.trigger,
            "status": run.status,
            "model": run.model,
            "candidates": run.candidate_count,
            "picks": int(count or 0),
            "error": run.error,
            "started_at": iso(run.started_at),
            "finished_at": iso(run.finished_at),
            "seconds": _seconds(run),
        }
        for run, count in rows
    ]


async def recommendation_run_count(session: AsyncSession, user_id: int, media_type: str | None = None) -> int:
    query = select(func.count()).select_from(RecommendationRun).where(RecommendationRun.user_id == user_id)
    if media_type is not None:
        query = query.where(RecommendationRun.media_type == media_type)
    return int((await session.exec(query)).one())
