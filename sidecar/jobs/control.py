"""What an administrator does to jobs: run one now, cancel it, change its schedule or turn it off.

The Jobs pages, the JSON API (ours and Aperture's paths) and tests call these; each raises ``NotFound`` for
an unknown job, ``JobNotStarted`` / ``JobNotRunning`` (with the HTTP status) when it cannot do what was
asked. Names may be aliases (``full-sync-watch-history``): the answer names the job that ran.

**Turning a job off while it runs cancels that run** (and drops it from the queue): "off" means "stop doing
this", and an admin who wanted the run to finish can wait before turning the job off. The page says so.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from arq.constants import in_progress_key_prefix, job_key_prefix, retry_key_prefix
from sqlalchemy import update
from sqlmodel import col, select

from sidecar.db.models import JobDefinition, JobRun
from sidecar.errors import NotFound
from sidecar.jobs import liveness
from sidecar.jobs.cancellation import CANCELLED_MESSAGE, forget_abort, request_stop
from sidecar.jobs.queue import enqueue
from sidecar.jobs.registry import JobSpec, find_job, load_jobs
from sidecar.services import QUEUE_NAME, Services

ACTIVE = ("running",)
# How long "Cancel" waits for the run to end before answering (the run ends "cancelled" regardless).
CANCEL_WAIT_S = 5.0
NOT_STARTED_REASONS = ("internal", "running", "queued")
DISABLED_NOTE = "Turning a job off cancels its run in progress and stops its schedule."


def resolve(name: str) -> JobSpec:
    spec = find_job(name) if "\x00" not in name else None
    if spec is None:
        raise NotFound(f"There is no job named {name!r}.")
    return spec


def not_started_message(name: str, reason: str, since: str | None = None) -> str:
    """Why "Run now" did not start ``name`` (the API's ``error`` and the Jobs page's notice)."""
    if reason == "internal":
        return (
            f"{name} is an internal job: Marquee starts it itself with what it needs (one webhook event, one "
            "user), so it cannot be run by hand."
        )
    if reason == "running":
        return f"{name} was not started: it is already running" + (f" (since {since} UTC)." if since else ".")
    return f"{name} was not started: it is already queued and starts as soon as a worker is free."


class JobNotStarted(Exception):
    """Run now refused, with the reason (``NOT_STARTED_REASONS``); ``status`` is the HTTP answer."""

    def __init__(self, name: str, reason: str, since: str | None = None) -> None:
        super().__init__(not_started_message(name, reason, since))
        self.name = name
        self.reason = reason
        self.since = since
        self.status = 400 if reason == "internal" else 409


class JobNotRunning(Exception):
    """Cancel found nothing to stop (409), or the job is internal (400): Marquee queues one per webhook event
    or user and its sweeper re-queues what is left undone, so stopping one by hand would only lose work."""

    def __init__(self, name: str, *, internal: bool = False) -> None:
        super().__init__(
            f"{name} is an internal job: Marquee runs it itself for one webhook event or one user, so it cannot"
            " be cancelled by hand."
            if internal
            else f"{name} is not running or queued: there is nothing to cancel."
        )
        self.name = name
        self.status = 400 if internal else 409


async def queued_job_names(services: Services) -> set[str]:
    """The jobs waiting in arq's queue that an admin may start or cancel, under the ids Marquee queues them
    with (``<name>`` from the scheduler and other jobs, ``manual:<name>`` from Run now). One Redis round trip
    of EXISTS, however deep the queue (after a publish it holds thousands of webhook jobs): the progress
    streams ask twice a second."""
    names = [spec.name for spec in load_jobs().values() if spec.manual]
    async with services.redis.pipeline(transaction=False) as pipe:
        for name in names:
            for job_id in (name, f"manual:{name}"):
                pipe.exists(job_key_prefix + job_id)
                pipe.exists(in_progress_key_prefix + job_id)
        found = await pipe.execute()
    queued: set[str] = set()
    for i, name in enumerate(names):
        waiting = found[4 * i : 4 * i + 4]
        if (waiting[0] and not waiting[1]) or (waiting[2] and not waiting[3]):
            queued.add(name)
    return queued


async def _running_since(services: Services, name: str) -> datetime | None:
    async with services.sessions() as session:
        return (
            await session.exec(
                select(JobRun.started_at)
                .where(JobRun.job_name == name, col(JobRun.status).in_(ACTIVE))
                .order_by(col(JobRun.started_at))
            )
        ).first()


async def run_job(services: Services, name: str) -> dict[str, Any]:
    """Enqueue a job now, or raise ``JobNotStarted`` saying why not (``NotFound`` for an unknown job).

    Runs whose worker died are settled first (``sidecar.jobs.liveness.reap``), so they never block this."""
    spec = resolve(name)
    if not spec.manual:
        raise JobNotStarted(spec.name, "internal")
    await liveness.reap(services)
    running = await _running_since(services, spec.name)
    if running is not None:
        raise JobNotStarted(spec.name, "running", f"{running.astimezone(UTC):%H:%M}")
    manual_id = f"manual:{spec.name}"
    # The scheduler and `marquee run-job` queue a job under its name, "Run now" under manual:<name>.
    if await services.redis.exists(job_key_prefix + spec.name, job_key_prefix + manual_id):
        raise JobNotStarted(spec.name, "queued")
    await forget_abort(services.redis, manual_id)
    job = await enqueue(services.redis, spec.name, job_id=manual_id)
    if job is None:
        raise JobNotStarted(spec.name, "queued")
    return {"name": spec.name, "queued": True, "job_id": job.job_id}


async def _dequeue(services: Services, name: str) -> list[str]:
    """Remove the not-yet-started jobs of ``name`` from arq's queue; returns their ids."""
    redis = services.redis
    removed: list[str] = []
    for job in await redis.queued_jobs():
        if job.function != name or job.job_id is None:
            continue
        if await redis.exists(in_progress_key_prefix + job.job_id):
            continue  # started: its run is stopped through its job_run row
        if await redis.zrem(QUEUE_NAME, job.job_id):
            await redis.delete(job_key_prefix + job.job_id, retry_key_prefix + job.job_id)
            removed.append(job.job_id)
    return removed


async def cancel_job(services: Services, name: str, *, wait_s: float = CANCEL_WAIT_S) -> dict[str, Any]:
    """Stop every run of the job and drop its queued jobs; waits up to ``wait_s`` for the runs to end.

    Returns ``{"name", "runs": [{"id", "status"}], "dequeued": [...]}``; a run still ``running`` after the
    wait has been told to stop and ends ``cancelled`` at its next checkpoint."""
    spec = resolve(name)
    if not spec.manual:
        raise JobNotRunning(spec.name, internal=True)
    await liveness.reap(services)
    async with services.sessions() as session:
        runs = (
            await session.exec(
                select(JobRun).where(JobRun.job_name == spec.name, col(JobRun.status).in_([*ACTIVE, "retrying"]))
            )
        ).all()
    dequeued = await _dequeue(services, spec.name)
    if not runs and not dequeued:
        raise JobNotRunning(spec.name)
    running: list[JobRun] = []
    for run in runs:
        assert run.id is not None
        if run.status == "retrying":  # no worker holds it: its retry was just dequeued
            await _mark_cancelled(services, run.id)
        else:
            await request_stop(services.redis, run.id, run.arq_job_id)
            running.append(run)
    statuses = await _wait_for_end(services, [r.id for r in running if r.id is not None], wait_s)
    for run in running:
        if run.arq_job_id:
            await forget_abort(services.redis, run.arq_job_id)
    return {
        "name": spec.name,
        "runs": [{"id": r.id, "status": statuses.get(r.id or 0, "cancelled")} for r in runs],
        "dequeued": dequeued,
    }


async def _mark_cancelled(services: Services, run_id: int) -> None:
    async with services.sessions() as session:
        await session.exec(
            update(JobRun)
            .where(col(JobRun.id) == run_id, col(JobRun.status) != "cancelled")
            .values(status="cancelled", error=CANCELLED_MESSAGE, finished_at=datetime.now(UTC))
        )
        await session.commit()


async def _wait_for_end(services: Services, run_ids: list[int], wait_s: float) -> dict[int, str]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while True:
        async with services.sessions() as session:
            rows = (await session.exec(select(JobRun.id, JobRun.status).where(col(JobRun.id).in_(run_ids)))).all()
        statuses = {int(i): str(s) for i, s in rows if i is not None}
        if all(s not in ACTIVE for s in statuses.values()) or loop.time() >= deadline:
            return statuses
        await asyncio.sleep(0.1)


async def set_job(
    services: Services, name: str, *, schedule: str | None = None, set_schedule: bool = False, enabled: bool | None
) -> dict[str, Any]:
    """Change a job's schedule and/or turn it on or off; turning it off cancels a run in progress."""
    spec = resolve(name)
    async with services.sessions() as session:
        definition = await session.get(JobDefinition, spec.name)
        if definition is None:
            raise NotFound(f"There is no job named {name!r}.")
        if set_schedule:
            if definition.schedule != schedule:
                # A new schedule starts counting now, so saving it does not fire a missed slot at once.
                definition.last_enqueued_at = datetime.now(UTC)
            definition.schedule = schedule
        was_enabled = definition.enabled
        if enabled is not None:
            definition.enabled = enabled
        session.add(definition)
        await session.commit()
        answer: dict[str, Any] = {
            "name": definition.name,
            "schedule": definition.schedule,
            "enabled": definition.enabled,
        }
    if was_enabled and enabled is False:
        try:
            answer["cancelled"] = await cancel_job(services, spec.name, wait_s=0)
        except JobNotRunning:
            answer["cancelled"] = None
    return answer
