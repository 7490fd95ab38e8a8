"""Stopping the in-process worker (what SIGTERM does to ``marquee serve``) lets arq record a job that has just
ended before the Redis pool closes. arq records it in a task shielded from the cancel; a stop that closed the
pool under it lost the record (the job ran again after the restart) and dropped a Redis connection mid-command.
Real PostgreSQL, Redis and arq worker."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from arq.constants import in_progress_key_prefix, job_key_prefix
from arq.worker import Worker

from sidecar.jobs import all_jobs, worker
from sidecar.jobs.progress import Progress
from sidecar.jobs.queue import enqueue
from sidecar.jobs.registry import JobSpec, load_jobs
from sidecar.jobs.schedule import seed_job_definitions
from sidecar.services import Services
from sidecar.sync import state as sync_state


async def _quick(services: Services, progress: Progress) -> dict[str, Any]:
    return {"done": True}


QUICK = JobSpec("test-quick", _quick, "returns at once (test job)")


async def _wait_for(condition: Callable[[], Awaitable[bool] | bool], what: str, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while True:
        result = condition()
        if await result if isinstance(result, Awaitable) else result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def test_a_stop_waits_for_arq_to_record_the_job_that_just_ended(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(all_jobs, "JOBS", (*all_jobs.JOBS, QUICK))
    monkeypatch.setattr(worker, "RECORDING_WAIT_S", 120.0)  # the outcome must not depend on this machine's speed
    await sync_state.record(services.engine, sync_state.INITIAL_SYNC, {"by": "test"})  # no first sync
    await seed_job_definitions(services.sessions, load_jobs())

    # arq's recording of a finished job (behind Marquee's retry while Redis is away) waits at a gate.
    gate, at_gate = asyncio.Event(), asyncio.Event()
    record = Worker.finish_job

    async def gated_finish_job(self: Worker, job_id: str, *args: Any, **kwargs: Any) -> None:
        if job_id == QUICK.name:
            at_gate.set()
            await gate.wait()
        await record(self, job_id, *args, **kwargs)

    monkeypatch.setattr(Worker, "finish_job", gated_finish_job)
    built = worker.build_worker({"services": services}, services.redis_url, handle_signals=False)
    task = asyncio.create_task(built.async_run())
    stopping: asyncio.Task[None] | None = None
    try:
        await enqueue(services.redis, QUICK.name, job_id=QUICK.name)
        await _wait_for(at_gate.is_set, "the job to end and arq to start recording it")
        stopping = asyncio.create_task(worker.stop_worker(built, task))
        # The worker's loop and every job task are gone; only arq's shielded recording is left.
        await _wait_for(lambda: task.done() and all(t.done() for t in built.tasks.values()), "the worker to stop")
        assert built.recordings and not stopping.done()
        gate.set()
        await stopping
    finally:
        gate.set()
        if stopping is None:
            await worker.stop_worker(built, task)
    assert not built.recordings
    assert not await services.redis.exists(job_key_prefix + QUICK.name), "the job would run again after a restart"
    assert not await services.redis.exists(in_progress_key_prefix + QUICK.name)
