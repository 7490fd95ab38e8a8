"""Background jobs: their definitions with each one's latest run, and the runs with progress and log."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from sidecar.db.models import JobDefinition, JobRun
from sidecar.errors import NotFound
from sidecar.jobs.untracked import summary
from sidecar.web.read_models.shared import iso, sql_rows

ACTIVE_STATUSES = ("running",)
ENDED_STATUSES = ("done", "failed", "cancelled", "interrupted", "retrying")


def progress_text(current: int, total: int | None, message: str) -> str:
    """What a person reads beside the bar: "647 of 647 series items", "embedded 40/100 movies", "step 3 (3 of
    6)" — the counts once, never a bare "0" nor "647/647 647 of 647 …"."""
    message = message.strip()
    counts = f"{current} of {total}" if total else (f"{current} done" if current else "")
    if not message:
        return counts
    if not total or f"{current} of {total}" in message or f"{current}/{total}" in message:
        return message
    return f"{message} ({counts})"


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def run_view(run: JobRun) -> dict[str, Any]:
    total = run.progress_total
    pct = round(100 * run.progress_current / total) if total else (100 if run.status == "done" else None)
    duration = (run.finished_at - run.started_at).total_seconds() if run.finished_at else None
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
        "duration_s": round(duration, 1) if duration is not None else None,
        "duration_text": duration_text(duration),
        # a finished run that reported no progress says what it did (its result's plain fields)
        "progress_text": progress_text(run.progress_current, total, run.message)
        or (summary(run.result) if run.status == "done" else ""),
    }


def run_event(view: dict[str, Any]) -> dict[str, Any]:
    """A run as the progress stream sends it: the view without its result and with the log's last lines."""
    slim = {k: v for k, v in view.items() if k not in ("log", "result")}
    slim["log_tail"] = view["log"][-5:]
    return slim


async def job_runs(session: AsyncSession, *, name: str | None, active: bool, limit: int) -> list[dict[str, Any]]:
    query = select(JobRun)
    if name is not None:
        query = query.where(JobRun.job_name == name)
    if active:
        query = query.where(col(JobRun.status).in_(ACTIVE_STATUSES))
    rows = (await session.exec(query.order_by(col(JobRun.started_at).desc(), col(JobRun.id).desc()).limit(limit))).all()
    return [run_view(r) for r in rows]


async def get_run(session: AsyncSession, run_id: int) -> dict[str, Any]:
    run = await session.get(JobRun, run_id)
    if run is None:
        raise NotFound(f"There is no job run {run_id}.")
    return run_view(run)


def _untracked_view(view: dict[str, Any] | None) -> dict[str, Any] | None:
    return {**view, "duration_text": duration_text(view.get("duration_s"))} if view else None


async def job_definitions(
    session: AsyncSession, untracked: dict[str, dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Every job with its latest run: from ``job_run``, or for a job that records no runs (``sweep-webhooks``,
    every minute) the summary its last run left in Redis (``untracked``, ``sidecar.jobs.untracked``)."""
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
            "last_run": run_view(last[d.name]) if d.name in last else _untracked_view((untracked or {}).get(d.name)),
        }
        for d in definitions
    ]


async def get_job(session: AsyncSession, name: str) -> JobDefinition:
    definition = await session.get(JobDefinition, name) if "\x00" not in name else None
    if definition is None:
        raise NotFound(f"There is no job named {name!r}.")
    return definition
