"""The arq worker: job registry, startup/shutdown of shared clients, and the scheduler tick.

``marquee worker`` runs ``WorkerSettings`` with arq; ``marquee serve`` builds the same worker with
``build_worker`` inside the web process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from typing import Any

from arq import cron
from sqlmodel import select

from sidecar import live_settings
from sidecar.db.models import JobDefinition
from sidecar.jobs import liveness
from sidecar.jobs.queue import enqueue
from sidecar.jobs.reconnecting import ReconnectingWorker
from sidecar.jobs.registry import load_jobs, wrap
from sidecar.jobs.schedule import is_due, seed_job_definitions
from sidecar.services import QUEUE_NAME, Services, open_services, redis_settings
from sidecar.settings import Settings

log = logging.getLogger(__name__)

HEALTH_CHECK_INTERVAL_S = 10
# arq starts new jobs only when it polls, so a deep queue drains at MAX_JOBS per POLL_DELAY_S: after each
# republish the server announces every STRM copy it added or dropped, and a user's playback events must
# not wait a second behind them. Most jobs are short and I/O-bound; the heavy ones run one per name.
MAX_JOBS = 10
POLL_DELAY_S = 0.05
HEALTH_CHECK_KEY = f"{QUEUE_NAME}:health-check"
# How long a stop waits for arq to record the jobs that just ended (a Redis round trip, longer only while
# Redis is away); those still unrecorded then run again after the restart.
RECORDING_WAIT_S = 5.0


async def scheduler_tick(ctx: dict[str, Any]) -> int:
    """Every minute: settle the runs of dead workers, then enqueue the jobs whose schedule says they are due."""
    services: Services = ctx["services"]
    await liveness.reap(services)
    now = datetime.now(UTC)
    started = 0
    async with services.sessions() as session:
        for definition in (await session.exec(select(JobDefinition).where(JobDefinition.enabled))).all():
            if is_due(definition.schedule, definition.last_enqueued_at, now):
                await enqueue(services.redis, definition.name, job_id=definition.name)
                definition.last_enqueued_at = now
                started += 1
        await session.commit()
    return started


async def on_startup(ctx: dict[str, Any]) -> None:
    if "services" not in ctx:
        settings: Settings = ctx["settings"]
        ctx["services"] = await open_services(settings, ctx["database_url"], ctx["redis_url"])
        ctx["owns_services"] = True
    services: Services = ctx["services"]
    await liveness.start(ctx, services)
    await seed_job_definitions(services.sessions, load_jobs())
    # Events whose job was lost while no worker ran, and a first sync never done, are queued right away.
    from sidecar.webhooks.sweeper import on_worker_start

    await on_worker_start(services)
    for hook in ctx.get("startup_hooks", ()):
        await hook(services)


async def on_redis_back(ctx: dict[str, Any]) -> None:
    """Webhooks stored while Redis was down (and whatever a restart lost) are queued now, not at the next
    minute's sweep."""
    from sidecar.webhooks.sweeper import on_worker_start

    await on_worker_start(ctx["services"])


async def on_shutdown(ctx: dict[str, Any]) -> None:
    liveness.stop(ctx)
    if ctx.get("owns_services"):
        await ctx["services"].aclose()


def worker_functions() -> list[Any]:
    return [wrap(spec) for spec in load_jobs().values()]


def build_worker(
    ctx: dict[str, Any], redis_url: str, *, handle_signals: bool = True, burst: bool = False
) -> ReconnectingWorker:
    """A worker sharing ``ctx`` (holding either ``services`` or ``settings``+URLs); it survives Redis restarts."""
    return ReconnectingWorker(
        functions=worker_functions(),
        cron_jobs=[cron(scheduler_tick, name="scheduler-tick", second=0, run_at_startup=True, keep_result=0)],
        redis_settings=redis_settings(redis_url),
        queue_name=QUEUE_NAME,
        health_check_key=HEALTH_CHECK_KEY,
        health_check_interval=HEALTH_CHECK_INTERVAL_S,
        on_startup=on_startup,
        on_shutdown=on_shutdown,
        on_job_start=live_settings.on_job_start,
        ctx=ctx,
        handle_signals=handle_signals,
        burst=burst,
        max_jobs=MAX_JOBS,
        job_timeout=3600,
        allow_abort_jobs=True,  # Cancel on the Jobs page (sidecar.jobs.cancellation)
        keep_result=0,
        poll_delay=POLL_DELAY_S,
        on_reconnect=on_redis_back,
    )


async def stop_worker(worker: ReconnectingWorker, task: asyncio.Task[Any]) -> None:
    """Stop a worker started with ``asyncio.create_task(worker.async_run())`` inside another app.

    Jobs interrupted here are picked up again by the next worker (arq re-runs expired in-progress jobs).
    A job that has just ended is still being recorded in Redis by a task arq shields from the cancel: the
    pool closes only once those recordings are done (or after ``RECORDING_WAIT_S``), or the job would run
    again and its Redis connection would be dropped mid-command.
    """
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    except Exception as exc:  # e.g. Ctrl-C in a terminal also stopped the embedded Redis under it
        log.info("the worker stopped with %s: %s", type(exc).__name__, exc)
    for job_task in list(worker.tasks.values()):
        job_task.cancel()
    await asyncio.gather(*worker.tasks.values(), return_exceptions=True)
    await worker.settle_recordings(RECORDING_WAIT_S)
    pool = worker._pool
    if pool is not None:
        with contextlib.suppress(Exception):
            await pool.delete(HEALTH_CHECK_KEY)
        await pool.aclose(close_connection_pool=True)
        worker._pool = None


def _settings_for_arq_cli() -> tuple[Settings, str, str]:
    from sidecar.embedded import to_sqlalchemy_url

    settings = Settings().with_persisted_secrets()
    if settings.database_url is None or settings.redis_url is None:
        raise RuntimeError(
            "`arq sidecar.jobs.worker.WorkerSettings` needs MARQUEE_DATABASE_URL and MARQUEE_REDIS_URL; "
            "on embedded defaults use `marquee worker`"
        )
    return (
        settings,
        to_sqlalchemy_url(settings.database_url.get_secret_value()),
        settings.redis_url.get_secret_value(),
    )


async def _arq_cli_startup(ctx: dict[str, Any]) -> None:
    ctx["settings"], ctx["database_url"], ctx["redis_url"] = _settings_for_arq_cli()
    await on_startup(ctx)


def _worker_settings_class() -> type:
    _, _, redis_url = _settings_for_arq_cli()
    return type(
        "WorkerSettings",
        (),
        {
            "__doc__": "arq's worker settings for Marquee (built from MARQUEE_* on first access).",
            "functions": worker_functions(),
            "cron_jobs": [cron(scheduler_tick, name="scheduler-tick", second=0, run_at_startup=True, keep_result=0)],
            "queue_name": QUEUE_NAME,
            "health_check_key": HEALTH_CHECK_KEY,
            "health_check_interval": HEALTH_CHECK_INTERVAL_S,
            "on_startup": _arq_cli_startup,
            "on_shutdown": on_shutdown,
            "on_job_start": live_settings.on_job_start,
            "max_jobs": MAX_JOBS,
            "allow_abort_jobs": True,
            "keep_result": 0,
            "poll_delay": POLL_DELAY_S,
            "redis_settings": redis_settings(redis_url),
        },
    )


def __getattr__(name: str) -> Any:
    """``WorkerSettings`` for arq's own CLI (`arq sidecar.jobs.worker.WorkerSettings`) with external
    PostgreSQL and Redis; built on first access so importing this module reads no settings.
    `marquee worker` builds the same worker and also handles the embedded defaults."""
    if name == "WorkerSettings":
        return _worker_settings_class()
    raise AttributeError(name)
