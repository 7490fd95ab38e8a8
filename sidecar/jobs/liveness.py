"""Which worker runs which job, and what happens to a job whose worker died.

Several workers can share one queue (compose runs the web app's worker *and* a separate one), so "a run
is still ``running`` when a worker starts" does not mean its worker is gone. Each worker therefore proves
it is alive:

- **Identity and heartbeat.** A worker gets an id (``host:pid:random``) when it starts and keeps the key
  ``marquee:queue:worker:<id>`` in Redis with a TTL of ``HEARTBEAT_TTL_S``, refreshed every
  ``HEARTBEAT_S`` by a thread (a long computation holding the event loop cannot make a live worker look
  dead). ``kill -9``, a crash or a lost host stop the refresh and the key expires; a clean stop deletes it.
- **Claims.** Every job a worker starts is claimed in the hash ``marquee:queue:running`` (arq job id →
  worker id) and its ``job_run`` row records the worker id; the claim is dropped when the job ends.
  A stopping worker (SIGTERM, Ctrl-C) marks the runs it cancels ``interrupted`` itself; arq queues those
  jobs again for the next worker.

``reap`` settles what dead workers left — a worker is dead when a claim or an unfinished run names it
and its heartbeat key is gone:

- their unfinished runs become ``interrupted`` with the reason, so nothing shows as running forever;
- arq's in-progress key of each job they claimed is deleted (in one Lua step, only while the claim is
  still theirs and their heartbeat still absent). arq keeps that key for the job timeout (an hour) after
  a kill and meanwhile neither runs the job again nor accepts the same job id; without it the job,
  still in the queue, runs again on a live worker at its next poll — arq's own "run again" for an
  interrupted job, bounded by the job's ``max_tries``.
- runs recorded before workers had ids are interrupted once arq no longer holds their job.

A missing key proves nothing while Redis itself was away: ``reap`` judges no worker dead while this
process's heartbeats fail to reach Redis, within ``HEARTBEAT_TTL_S`` after they get through again, or
while Redis has been up for less than that (live workers need that long to beat again).

``reap`` runs when a worker starts, every minute in the scheduler tick (a cron job whose id changes each
minute, so a dead tick never blocks the next), after the worker gets Redis back, and before "Run now"
answers. A dead worker is therefore noticed at most ``HEARTBEAT_TTL_S`` + one minute after it died, or at
once by a worker starting after its key expired.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix
from redis import Redis as SyncRedis
from redis.exceptions import RedisError
from sqlalchemy import text

from sidecar.services import QUEUE_NAME, Services

log = logging.getLogger(__name__)

HEARTBEAT_S = 5.0
HEARTBEAT_TTL_S = 20
ALIVE_PREFIX = f"{QUEUE_NAME}:worker:"
RUNNING_KEY = f"{QUEUE_NAME}:running"
CTX_WORKER_ID = "worker_id"
_CTX_HEARTBEAT = "liveness.heartbeat"

_RELEASE = """
if redis.call('hget', KEYS[1], ARGV[1]) == ARGV[2] then
    return redis.call('hdel', KEYS[1], ARGV[1])
end
return 0
"""
# KEYS: the claims hash, the job's in-progress key, the owner's heartbeat key; ARGV: job id, owner.
_FREE_DEAD_CLAIM = """
if redis.call('exists', KEYS[3]) == 0 and redis.call('hget', KEYS[1], ARGV[1]) == ARGV[2] then
    redis.call('del', KEYS[2])
    redis.call('hdel', KEYS[1], ARGV[1])
    return 1
end
return 0
"""


def alive_key(worker_id: str) -> str:
    return ALIVE_PREFIX + worker_id


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class _Trust:
    """Whether a missing heartbeat key means a dead worker. Not while a heartbeat of this process fails to
    reach Redis, nor for ``HEARTBEAT_TTL_S`` after it gets through again: an outage long enough to expire
    this worker's key expired the others' too, and they need that long to beat again."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failing: set[str] = set()
        self._until = 0.0

    def failed(self, worker_id: str) -> None:
        with self._lock:
            self._failing.add(worker_id)

    def succeeded(self, worker_id: str) -> None:
        with self._lock:
            if worker_id in self._failing:
                self._failing.discard(worker_id)
                self._until = max(self._until, time.monotonic() + HEARTBEAT_TTL_S)

    def steady(self) -> bool:
        with self._lock:
            return not self._failing and time.monotonic() >= self._until


_trust = _Trust()


class Heartbeat:
    """Keeps ``alive_key(worker_id)`` in Redis from a thread until ``stop``; deletes it on the way out."""

    def __init__(self, redis_url: str, worker_id: str) -> None:
        self.worker_id = worker_id
        self.key = alive_key(worker_id)
        since = datetime.now(UTC).isoformat()
        self.value = json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "since": since})
        self._redis_url = redis_url
        self._every_s = HEARTBEAT_S
        self._ttl_s = HEARTBEAT_TTL_S
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"marquee-heartbeat-{worker_id}", daemon=True)

    async def start(self, redis: ArqRedis) -> None:
        """The first beat is written before the worker takes a job; the thread keeps it fresh."""
        await redis.set(self.key, self.value, ex=self._ttl_s)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        client = SyncRedis.from_url(self._redis_url, socket_timeout=2, socket_connect_timeout=2)
        try:
            while not self._stop.wait(self._every_s):
                try:
                    client.set(self.key, self.value, ex=self._ttl_s)
                except Exception as exc:  # Redis away for a while: keep trying, say so once
                    if _trust.steady():
                        log.warning("worker %s cannot refresh its heartbeat: %s", self.worker_id, exc)
                    _trust.failed(self.worker_id)
                else:
                    _trust.succeeded(self.worker_id)
            with contextlib.suppress(Exception):
                client.delete(self.key)
        finally:
            _trust.succeeded(self.worker_id)  # a stopped heartbeat no longer vouches for anything
            with contextlib.suppress(Exception):
                client.close()


async def absences_mean_death(redis: ArqRedis) -> bool:
    """True when a missing heartbeat key can only mean a dead worker: this process's heartbeats reach Redis
    steadily, and Redis has been up long enough for every live worker to have beaten (a restarted Redis,
    or one restored from its append-only file after a long outage, holds no or expired heartbeats)."""
    if not _trust.steady():
        return False
    info = await redis.info("server")
    return int(info.get("uptime_in_seconds", 0)) >= HEARTBEAT_TTL_S


async def start(ctx: dict[str, Any], services: Services) -> str:
    """Give this worker an id and a heartbeat that lasts as long as the task running the worker."""
    heartbeat = Heartbeat(services.redis_url, new_worker_id())
    await heartbeat.start(services.redis)
    ctx[CTX_WORKER_ID] = heartbeat.worker_id
    ctx[_CTX_HEARTBEAT] = heartbeat
    owner = asyncio.current_task()  # arq's main task: cancelled or finished when the worker stops
    if owner is not None:
        owner.add_done_callback(lambda _: heartbeat.stop())
    log.debug("worker %s started", heartbeat.worker_id)
    return heartbeat.worker_id


def stop(ctx: dict[str, Any]) -> None:
    heartbeat = ctx.get(_CTX_HEARTBEAT)
    if isinstance(heartbeat, Heartbeat):
        heartbeat.stop()


async def claim(redis: ArqRedis, job_id: str, worker_id: str) -> None:
    await redis.hset(RUNNING_KEY, job_id, worker_id)  # type: ignore[misc]


async def release(redis: ArqRedis, job_id: str, worker_id: str) -> None:
    try:
        await redis.eval(_RELEASE, 1, RUNNING_KEY, job_id, worker_id)  # type: ignore[misc]
    except (RedisError, OSError) as exc:  # a leftover claim is freed by reap once this worker is gone
        log.warning("cannot release the claim on job %s: %s", job_id, exc)


@dataclass
class Reaped:
    dead_workers: list[str] = field(default_factory=list)
    interrupted_runs: list[int] = field(default_factory=list)
    freed_jobs: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.dead_workers or self.interrupted_runs or self.freed_jobs)


def _reason(worker_id: str) -> str:
    return f"interrupted: its worker ({worker_id}) stopped without finishing it (killed, crashed or cut off from Redis)"


_LEGACY_REASON = "interrupted: no worker holds this run any more (it was running when Marquee stopped)"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def _dead(redis: ArqRedis, workers: set[str]) -> set[str]:
    ordered = sorted(workers)
    async with redis.pipeline(transaction=False) as pipe:
        for worker_id in ordered:
            pipe.exists(alive_key(worker_id))
        found = await pipe.execute()
    return {w for w, exists in zip(ordered, found, strict=True) if not exists}


async def reap(services: Services) -> Reaped:
    """Settle the runs and free the jobs of workers whose heartbeat is gone (see the module docstring)."""
    redis = services.redis
    held = await redis.hgetall(RUNNING_KEY)  # type: ignore[misc]
    claims = {_text(k): _text(v) for k, v in held.items()}
    async with services.engine.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT id, worker_id, arq_job_id FROM job_run WHERE status = 'running' ORDER BY id")
            )
        ).all()
    owners = set(claims.values()) | {str(r.worker_id) for r in rows if r.worker_id is not None}
    reaped = Reaped()
    if (owners or any(r.worker_id is None for r in rows)) and not await absences_mean_death(redis):
        log.debug(
            "Redis or this worker's heartbeat was away within the last %d s: dead workers are judged later",
            HEARTBEAT_TTL_S,
        )
        return reaped
    dead = await _dead(redis, owners) if owners else set()
    reaped.dead_workers = sorted(dead)
    for job_id, owner in claims.items():
        if owner in dead:
            keys = [RUNNING_KEY, in_progress_key_prefix + job_id, alive_key(owner)]
            if await redis.eval(_FREE_DEAD_CLAIM, 3, *keys, job_id, owner):  # type: ignore[misc]
                reaped.freed_jobs.append(job_id)
    legacy = [r for r in rows if r.worker_id is None]
    orphaned: list[int] = []
    for r in legacy:  # arq sets the in-progress key before a job starts and deletes it after the run is recorded
        if r.arq_job_id is None or not await redis.exists(in_progress_key_prefix + str(r.arq_job_id)):
            orphaned.append(int(r.id))
    if reaped.dead_workers or orphaned:
        async with services.engine.begin() as conn:
            for worker_id in reaped.dead_workers:
                result = await conn.execute(
                    text(
                        "UPDATE job_run SET status = 'interrupted', error = :error, finished_at = now()"
                        " WHERE status = 'running' AND worker_id = :w RETURNING id"
                    ),
                    {"w": worker_id, "error": _reason(worker_id)},
                )
                reaped.interrupted_runs.extend(int(r[0]) for r in result)
            if orphaned:
                result = await conn.execute(
                    text(
                        "UPDATE job_run SET status = 'interrupted', error = :error, finished_at = now()"
                        " WHERE status = 'running' AND worker_id IS NULL AND id = ANY(:ids) RETURNING id"
                    ),
                    {"ids": orphaned, "error": _LEGACY_REASON},
                )
                reaped.interrupted_runs.extend(int(r[0]) for r in result)
    if reaped:
        log.warning(
            "dead workers %s: %d runs marked interrupted, %d jobs handed back to the queue",
            ", ".join(reaped.dead_workers) or "(none)",
            len(reaped.interrupted_runs),
            len(reaped.freed_jobs),
        )
    return reaped
