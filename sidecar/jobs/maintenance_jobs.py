"""Housekeeping jobs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete

from sidecar.db.models import JobRun
from sidecar.jobs.progress import Progress
from sidecar.jobs.registry import job
from sidecar.services import Services


@job("prune-job-runs", "Forget finished job runs older than 30 days.", schedule="daily:03:30")
async def prune_job_runs(services: Services, progress: Progress, days: int = 30) -> dict[str, Any]:
    cutoff = datetime.now(UTC) - timedelta(days=days)
    async with services.sessions() as session:
        result = await session.exec(
            delete(JobRun).where(JobRun.finished_at < cutoff)  # type: ignore[arg-type,operator]
        )
        await session.commit()
    removed = int(getattr(result, "rowcount", 0) or 0)
    progress.log(f"removed {removed} job runs older than {days} days")
    return {"removed": removed}
