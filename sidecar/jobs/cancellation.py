"""Asking a running job to stop, and how the run notices.

Two mechanisms, because neither alone stops every job:

- **A flag per run** (``marquee:queue:cancel:<run id>`` in Redis, kept ``FLAG_TTL_S``). ``Progress`` reads it
  at most every ``CHECK_EVERY_S`` while the job reports progress and raises ``JobCancelled`` there: a job
  stops between two steps, at a point its code chose, even when it runs outside arq (``marquee run-job``
  in tests, a worker started without abort support) or spends its time in a thread that a task
  cancellation cannot interrupt.
- **arq's abort** (the job id in arq's abort set; the worker runs with ``allow_abort_jobs=True``): the
  worker cancels the job's task at its next poll, so a job waiting on the network stops at once.

Either way ``sidecar.jobs.registry.wrap`` sees the flag and records the run ``cancelled``, not
``interrupted`` or ``failed``. ``JobCancelled`` is a ``BaseException`` like ``asyncio.CancelledError``: a
job's own ``except Exception`` (one user's library failing must not stop the others) never swallows it.
"""

from __future__ import annotations

import logging

from arq.connections import ArqRedis
from arq.constants import abort_jobs_ss, in_progress_key_prefix
from arq.utils import timestamp_ms
from redis.exceptions import RedisError

from sidecar.services import QUEUE_NAME

log = logging.getLogger(__name__)

FLAG_PREFIX = f"{QUEUE_NAME}:cancel:"
FLAG_TTL_S = 24 * 3600
CHECK_EVERY_S = 0.25
CANCELLED_MESSAGE = "cancelled by an administrator"


class JobCancelled(BaseException):  # like asyncio.CancelledError: a stop, not an error
    """Raised inside a job whose run was asked to stop (see the module docstring)."""


def flag_key(run_id: int) -> str:
    return f"{FLAG_PREFIX}{run_id}"


async def request_stop(redis: ArqRedis, run_id: int, arq_job_id: str | None) -> None:
    """Set the run's flag and, while arq holds the job, put it in arq's abort set."""
    await redis.set(flag_key(run_id), "1", ex=FLAG_TTL_S)
    if arq_job_id and await redis.exists(in_progress_key_prefix + arq_job_id):
        await redis.zadd(abort_jobs_ss, {arq_job_id: timestamp_ms()})


async def forget_abort(redis: ArqRedis, arq_job_id: str) -> None:
    """Drop a leftover abort for a job id arq no longer runs: arq would otherwise abort the next job queued
    under the same id (``manual:<name>``) before it starts."""
    if not await redis.exists(in_progress_key_prefix + arq_job_id):
        await redis.zrem(abort_jobs_ss, arq_job_id)


async def stop_requested(redis: ArqRedis, run_id: int | None) -> bool:
    """Whether the run was asked to stop; a Redis hiccup never stops a job (the next check asks again)."""
    if run_id is None:
        return False
    try:
        return bool(await redis.exists(flag_key(run_id)))
    except (RedisError, OSError) as exc:
        log.debug("cannot read the stop flag of run %s: %s", run_id, exc)
        return False
