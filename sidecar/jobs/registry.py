"""What a job is (``JobSpec``) and how the worker runs one (``wrap``).

A job is a plain coroutine ``async def job(services, progress, **kwargs) -> dict | None`` in one of the job
modules; ``sidecar.jobs.all_jobs.JOBS`` lists every one with its name, description and default schedule
(``load_jobs()`` returns them by name). ``wrap`` turns a spec into an arq function that records a ``job_run``
row (with the worker running it), claims the job for its worker (``sidecar.jobs.liveness``), reports
progress, records a run an administrator stopped as ``cancelled`` (``sidecar.jobs.cancellation``), one the
worker's own stop cut short as ``interrupted``, and maps transient media-server errors to ``arq.Retry``
with back-off. Jobs with ``manual=False`` are internal: they need arguments Marquee gives them (one
webhook event, one user) and are never started by hand.

Schedules: ``"interval:<minutes>"``, ``"daily:HH:MM"``, ``"weekly:<mon..sun>:HH:MM"`` or ``None`` (manual).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from arq import Retry
from arq.worker import Function
from arq.worker import func as arq_func

from providers.errors import ProviderUnavailable
from sidecar.errors import MarqueeError
from sidecar.jobs import liveness, untracked
from sidecar.jobs.cancellation import CANCELLED_MESSAGE, JobCancelled, stop_requested
from sidecar.jobs.progress import Progress, finish_run, start_run

if TYPE_CHECKING:
    from sidecar.services import Services

log = logging.getLogger(__name__)

JobFunc = Callable[..., Awaitable[dict[str, Any] | None]]


@dataclass(frozen=True)
class JobSpec:
    name: str
    func: JobFunc
    description: str
    schedule: str | None = None
    timeout_s: int = 3600
    max_tries: int = 5
    track: bool = True  # record a job_run row (off for high-frequency internal jobs)
    manual: bool = True  # may be started by hand (Run now, marquee run-job)
    aliases: tuple[str, ...] = ()  # other names it answers to (Aperture's, where they differ)


def load_jobs() -> dict[str, JobSpec]:
    """Every job (``sidecar.jobs.all_jobs.JOBS``) by name, in the order listed."""
    from sidecar.jobs.all_jobs import JOBS  # imported here: all_jobs builds its specs with JobSpec from this module

    return {spec.name: spec for spec in JOBS}


def find_job(name: str) -> JobSpec | None:
    """The job called ``name`` or answering to it as an alias (``full-sync-watch-history``)."""
    jobs = load_jobs()
    if name in jobs:
        return jobs[name]
    return next((spec for spec in jobs.values() if name in spec.aliases), None)


def _is_transient(exc: BaseException) -> bool:
    return isinstance(exc, ProviderUnavailable)


async def _settle(progress: Progress, spec: JobSpec, status: str, error: str) -> None:
    """Record how the run ended, even when a cancellation lands meanwhile: a stop flag seen at a checkpoint
    and arq's abort of the same run arrive within a poll of each other, and a write cut short would leave
    the run "running" under a live worker, where nothing settles it."""
    progress.log(error)
    writing = asyncio.ensure_future(asyncio.wait_for(finish_run(progress, status, error=error), 5))
    try:
        await asyncio.shield(writing)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await writing
        raise
    except Exception as exc:  # the database may be going away with the worker; reap settles the run later
        log.warning("cannot mark run %s of %s %s: %s", progress.run_id, spec.name, status, exc)


async def _interrupted(progress: Progress, spec: JobSpec) -> None:
    """A cancelled run says so (the worker is stopping, or the job passed its timeout); arq queues a job
    cancelled by a stopping worker again for the next one."""
    error = f"interrupted: the worker stopped, or the run passed its {spec.timeout_s} s timeout, before it finished"
    await _settle(progress, spec, "interrupted", error)


async def _cancelled(progress: Progress, spec: JobSpec) -> None:
    """The run an administrator stopped ends ``cancelled``; whatever it did before stays done."""
    await _settle(progress, spec, "cancelled", CANCELLED_MESSAGE)


async def _stop_was_asked(services: Services, progress: Progress) -> bool:
    try:
        return await asyncio.wait_for(stop_requested(services.redis, progress.run_id), 2)
    except Exception:  # cannot tell: the worker's own stop is the likelier cause
        return False


async def _recorded_start(
    spec: JobSpec, services: Services, job_id: str | None, kwargs: dict[str, Any], worker_id: str | None
) -> Progress:
    """The run's ``job_run`` row. A stop that lands while the row is being written still finds it: the write
    finishes and the run is marked interrupted, instead of being left "running" for the reaper."""
    if not spec.track:
        return Progress.detached()
    starting = asyncio.ensure_future(start_run(services.sessions, spec.name, job_id, kwargs, worker_id))
    try:
        return await asyncio.shield(starting)
    except asyncio.CancelledError:
        await _interrupted(await starting, spec)
        raise


def wrap(spec: JobSpec) -> Function:
    async def run(ctx: dict[str, Any], **kwargs: Any) -> dict[str, Any] | None:
        services = ctx["services"]
        tries = int(ctx.get("job_try", 1))
        job_id: str | None = ctx.get("job_id")
        worker_id: str | None = ctx.get(liveness.CTX_WORKER_ID)
        claimed = job_id is not None and worker_id is not None
        started = datetime.now(UTC)
        if claimed:
            assert job_id is not None and worker_id is not None
            await liveness.claim(services.redis, job_id, worker_id)
        try:
            progress = await _recorded_start(spec, services, job_id, kwargs, worker_id)
            if progress.run_id is not None:
                progress.stop_requested = partial(stop_requested, services.redis, progress.run_id)
            try:
                result = await spec.func(services, progress, **kwargs)
            except JobCancelled:  # the job saw the stop flag at a checkpoint
                await _cancelled(progress, spec)
                return {"cancelled": True}
            except asyncio.CancelledError:  # arq's abort, or the worker stopping
                if await _stop_was_asked(services, progress):
                    await _cancelled(progress, spec)
                else:
                    await _interrupted(progress, spec)
                raise
            except Exception as exc:
                transient = _is_transient(exc) and tries < spec.max_tries
                progress.log(f"{'retrying after' if transient else 'failed:'} {exc}")
                await finish_run(progress, "retrying" if transient else "failed", error=str(exc))
                if not spec.track:
                    status = "retrying" if transient else "failed"
                    await untracked.record(services.redis, spec.name, started, datetime.now(UTC), status, str(exc))
                if transient:
                    raise Retry(defer=min(300, 5 * 2**tries)) from exc
                if isinstance(exc, MarqueeError) and exc.__cause__ is None:
                    # An explained failure ("no media server is configured"): one line here and in the run's
                    # record, not two tracebacks (ours and arq's) in the admin's log.
                    log.warning("job %s failed: %s", spec.name, exc)
                    return {"failed": str(exc)}
                log.exception("job %s failed", spec.name)
                raise
            await finish_run(progress, "done", result=result)
            if not spec.track:
                await untracked.record(
                    services.redis, spec.name, started, datetime.now(UTC), "done", untracked.summary(result)
                )
            return result
        finally:
            if claimed:
                assert job_id is not None and worker_id is not None
                await liveness.release(services.redis, job_id, worker_id)

    # keep_result=0: outcomes live in job_run, and a kept result would block re-enqueueing the same _job_id.
    return arq_func(run, name=spec.name, timeout=spec.timeout_s, max_tries=spec.max_tries, keep_result=0)
