"""Stored ``marquee evaluate --server`` results (table ``server_evaluation``, migration 1017)."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from sidecar.db.models import ServerEvaluation as ServerEvaluationRow
from sidecar.media_types import MEDIA_TYPES
from sidecar.server_evaluation import ServerEvaluation
from sidecar.services import Services


async def save_evaluation(services: Services, result: ServerEvaluation, job_run_id: int | None = None) -> int:
    """Store one media type's result; returns its id."""
    row = ServerEvaluationRow(
        media_type=result.media_type,
        job_run_id=job_run_id,
        model=result.model,
        holdout=result.holdout,
        min_history=result.min_history,
        items=result.items,
        users_with_history=result.users_with_history,
        users_evaluated=result.users_evaluated,
        overall=result.overall,
        per_user=result.per_user,
        params=result.params,
        seconds=result.seconds,
    )
    async with services.sessions() as session:
        session.add(row)
        await session.commit()
        await session.refresh(row)
    assert row.id is not None
    return row.id


async def latest_evaluations(services: Services) -> dict[str, dict[str, Any]]:
    """The newest stored result per media type (types never evaluated are absent)."""
    out: dict[str, dict[str, Any]] = {}
    async with services.sessions() as session:
        for media_type in MEDIA_TYPES:
            row = (
                await session.exec(
                    select(ServerEvaluationRow)
                    .where(ServerEvaluationRow.media_type == media_type)
                    .order_by(col(ServerEvaluationRow.evaluated_at).desc(), col(ServerEvaluationRow.id).desc())
                    .limit(1)
                )
            ).first()
            if row is not None:
                out[media_type] = row.model_dump()
    return out
