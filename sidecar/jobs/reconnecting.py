"""An arq worker that waits out a Redis outage instead of stopping for good.

arq's poll loop lets the first Redis error end ``Worker.main``: after a Redis restart (the embedded one is
supervised, an external one may fail over) the process would run on with no worker. This worker skips a
poll that failed, tries again with back-off (0.1 s doubling to 2 s), logs the outage once and the
reconnection once, then calls ``on_reconnect`` (Marquee queues what was stored meanwhile) and beats its
heartbeat at once. redis-py opens new connections by itself; the pool needs nothing.

Jobs running through the outage carry on. Recording one that finished while Redis was down is retried
until Redis is back (up to ``FINISH_RETRY_S``): otherwise its in-progress marker would block it for
``job_timeout`` and it would run again. arq shields that recording from cancellation, so it outlives the job's
task; ``recordings`` holds the ones under way, for a stop to let them end before it closes the Redis pool
(``sidecar.jobs.worker.stop_worker``).

Written against arq 0.28's ``Worker`` (``_poll_iteration``, ``start_jobs``, ``finish_job``,
``finish_failed_job``); check them on an arq upgrade.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from arq.worker import Worker
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

REDIS_LOST = (RedisConnectionError, RedisTimeoutError, OSError)  # LOADING (BusyLoadingError) included
FIRST_RETRY_S = 0.1
MAX_RETRY_S = 2.0
FINISH_RETRY_S = 60.0

ReconnectHook = Callable[[dict[str, Any]], Awaitable[None]]


class ReconnectingWorker(Worker):
    def __init__(self, *args: Any, on_reconnect: ReconnectHook | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.on_reconnect = on_reconnect
        self.redis_lost_at: float | None = None
        self._retry_s = FIRST_RETRY_S
        self.recordings: set[asyncio.Task[Any]] = set()

    async def _poll_iteration(self) -> None:
        try:
            await super()._poll_iteration()
        except REDIS_LOST as exc:
            if self.redis_lost_at is None:
                self.redis_lost_at = time.monotonic()
                log.warning("the worker lost Redis (%s: %s); polling again until it is back", type(exc).__name__, exc)
            await asyncio.sleep(self._retry_s)
            self._retry_s = min(self._retry_s * 2, MAX_RETRY_S)
            return
        if self.redis_lost_at is not None:
            await self._reconnected()

    async def _reconnected(self) -> None:
        assert self.redis_lost_at is not None
        log.info("the worker is back on Redis after %.1fs", time.monotonic() - self.redis_lost_at)
        self.redis_lost_at = None
        self._retry_s = FIRST_RETRY_S
        self._last_health_check = 0  # beat now: the last heartbeat may have died with Redis
        if self.on_reconnect is not None:
            try:
                await self.on_reconnect(self.ctx)
            except Exception:  # the periodic sweep will do it; the worker keeps working
                log.exception("after reconnecting to Redis, queueing what arrived meanwhile failed")

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        try:
            await super().start_jobs(job_ids)
        except REDIS_LOST:
            # arq took a slot for the job it was starting when Redis went away, and only a started job
            # gives it back: give it back here, or every outage would shrink max_jobs by one.
            self._release_sem_dec_counter_on_complete()
            raise

    async def finish_job(self, *args: Any, **kwargs: Any) -> None:
        await self._until_recorded(super().finish_job, *args, **kwargs)

    async def finish_failed_job(self, *args: Any, **kwargs: Any) -> None:
        await self._until_recorded(super().finish_failed_job, *args, **kwargs)

    async def settle_recordings(self, timeout_s: float) -> None:
        """Let the recordings under way end (a stop calls this before closing the pool); those still going
        after ``timeout_s`` are cancelled, and their jobs run again after the restart."""
        if not self.recordings:
            return
        _, unfinished = await asyncio.wait(set(self.recordings), timeout=timeout_s)
        for recording in unfinished:
            recording.cancel()
        await asyncio.gather(*unfinished, return_exceptions=True)
        if unfinished:
            log.warning("%d jobs that ended as the worker stopped were not recorded; they run again", len(unfinished))

    async def _until_recorded(self, record: Callable[..., Awaitable[None]], *args: Any, **kwargs: Any) -> None:
        task = asyncio.current_task()
        assert task is not None  # always inside arq's shield task
        self.recordings.add(task)
        try:
            await self._record(record, *args, **kwargs)
        finally:
            self.recordings.discard(task)

    async def _record(self, record: Callable[..., Awaitable[None]], *args: Any, **kwargs: Any) -> None:
        deadline = time.monotonic() + FINISH_RETRY_S
        delay = FIRST_RETRY_S
        while True:
            try:
                await record(*args, **kwargs)
                return
            except REDIS_LOST:
                if time.monotonic() > deadline:
                    raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RETRY_S)
