"""Background jobs: their definitions with each one's latest run, and the runs with progress and log."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from sidecar.db.models import JobDefinition, JobRun
from sidecar.errors import NotFound
from sidecar.web.read_models.shared import iso, sql_rows


def run_view(run: JobRun) -> dict[str, Any]:
    total = run.progress_total
    pct = round(100 * run.progress_current / total) if total else (100 if run.status == "done" else None)
    return {
        "id": run.id,
        "job_name": run.job_name,
        "status": run.status,
        "progress_current": run.progress_current,
        "progress_total": total,
        "progress_pct": pct,
        "message": run.message,
        "error": run.error,
        "log": list(run.log),
        "result": run.result,
        "started_at": iso(run.started_at),
        "finished_at": iso(run.finished_at),
        "duration_s": round((run.finished_at - run.started_at).total_seconds(), 1) if run.finished_at else None,
    }


async def job_runs(session: AsyncSession, *, name: str | None, active: bool, limit: int) -> list[dict[str, Any]]:
    query = select(JobRun)
    if name is not None:
        query = query.where(JobRun.job_name == name)
    if active:
        query = query.where(col(JobRun.status).in_(["running", "retrying"]))
    rows = (await session.exec(query.order_by(col(JobRun.started_at).desc(), col(JobRun.id).desc()).limit(limit))).all()
    return [run_view(r) for r in rows]


async def get_run(session: AsyncSession, run_id: int) -> dict[str, Any]:
    run = await session.get(JobRun, run_id)
    if run is None:
        raise NotFound(f"There is no job run {run_id}.")
    return run_view(run)


async def job_definitions(session: AsyncSession) -> list[dict[str, Any]]:
    definitions = (await session.exec(select(JobDefinition).order_by(JobDefinition.name))).all()
    latest_ids = [
        row[0]
        for row in await sql_rows(
            session, "SELECT DISTINCT ON (job_name) id FROM job_run ORDER BY job_name, started_at DESC, id DESC"
        )
    ]
    latest = (await session.exec(select(JobRun).where(col(JobRun.id).in_(latest_ids)))).all() if latest_ids else []
    last: dict[str, JobRun] = {r.job_name: r for r in latest}
    return [
        {
            "name": d.name,
            "description": d.description,
            "schedule": d.schedule,
            "enabled": d.enabled,
            "last_enqueued_at": iso(d.last_enqueued_at),
            "last_run": run_view(last[d.name]) if d.name in last else None,
        }
        for d in definitions
    ]


async def get_job(session: AsyncSession, name: str) -> JobDefinition:
    definition = await session.get(JobDefinition, name) if "\x00" not in name else None
    if definition is None:
        raise NotFound(f"There is no job named {name!r}.")
    return definition
