"""Enqueueing jobs from the web app, other jobs and the CLI."""

from __future__ import annotations

from typing import Any

from arq.connections import ArqRedis
from arq.jobs import Job

from sidecar.services import QUEUE_NAME


async def enqueue(
    redis: ArqRedis, name: str, *, job_id: str | None = None, defer_s: float | None = None, **kwargs: Any
) -> Job | None:
    """Enqueue ``name``; with ``job_id``, a job already queued under that id absorbs this one (None)."""
    return await redis.enqueue_job(name, _job_id=job_id, _queue_name=QUEUE_NAME, _defer_by=defer_s, **kwargs)
