"""The last run of jobs that record no ``job_run`` rows.

``sweep-webhooks`` runs every minute and ``process-webhook-event`` once per webhook: a row each would bury
the history of every other job, so their specs say ``track=False``. The Jobs page still shows when they last
ran, how long it took and what it did: each run overwrites one field of the Redis hash ``LAST_RUN_KEY``
(job name → JSON, the same shape as a run's view).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from arq.connections import ArqRedis
from redis.exceptions import RedisError

from sidecar.services import QUEUE_NAME

log = logging.getLogger(__name__)

LAST_RUN_KEY = f"{QUEUE_NAME}:last-run"


def summary(result: dict[str, Any] | None) -> str:
    """A one-line message from a job's result: "events: 0, follow_ups: 2"."""
    if not result:
        return ""
    parts = [f"{k}: {v}" for k, v in result.items() if isinstance(v, str | int | float | bool) or v is None]
    return ", ".join(parts)[:300]


async def record(
    redis: ArqRedis, name: str, started_at: datetime, finished_at: datetime, status: str, message: str
) -> None:
    duration = (finished_at - started_at).total_seconds()
    view: dict[str, Any] = {
        "id": None,
        "job_name": name,
        "status": status,
        "progress_current": 0,
        "progress_total": None,
        "progress_pct": None,
        "message": message,
        "progress_text": message,
        "error": message if status == "failed" else None,
        "log": [],
        "result": {},
        "started_at": started_at.isoformat(),
        "finished_at": finished_at.isoformat(),
        "duration_s": round(duration, 1),
    }
    try:
        await redis.hset(LAST_RUN_KEY, name, json.dumps(view))  # type: ignore[misc]
    except (RedisError, OSError) as exc:  # only the Jobs page's "last run" misses it
        log.debug("cannot record the last run of %s: %s", name, exc)


async def last_runs(redis: ArqRedis) -> dict[str, dict[str, Any]]:
    try:
        raw = await redis.hgetall(LAST_RUN_KEY)  # type: ignore[misc]
    except (RedisError, OSError):
        return {}
    runs: dict[str, dict[str, Any]] = {}
    for key, value in raw.items():
        name = key.decode() if isinstance(key, bytes) else str(key)
        try:
            runs[name] = json.loads(value)
        except ValueError:
            continue
    return runs
