"""Jobs whose worker died are not stuck: real worker processes, real PostgreSQL and Redis.

A worker killed with SIGKILL leaves its run ``running`` and arq's in-progress key alive for the job timeout
(an hour). Once its heartbeat key expires, the next worker that starts marks the run interrupted and frees
the job, which runs again at once; a worker that stops cleanly marks the runs it cancels itself.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from arq.constants import in_progress_key_prefix
from sqlalchemy import text

from sidecar.jobs import all_jobs, control, liveness
from sidecar.jobs.progress import Progress
from sidecar.jobs.queue import enqueue
from sidecar.jobs.registry import JobSpec
from sidecar.jobs.worker import build_worker, stop_worker
from sidecar.services import Services

BLOCKING = "test-blocking"
GATE = "test:gate"  # the blocking job runs while this key exists
TTL_S = 2


async def _blocking(services: Services, progress: Progress) -> dict[str, Any]:
    await progress.update(1, 2, "waiting at the gate")
    await progress.flush()
    while True:
        if not await services.redis.exists(GATE):
            return {"passed": True}
        await asyncio.sleep(0.05)


# The same job in a worker process of its own, with a short heartbeat so the test need not wait 20 s.
WORKER_SCRIPT = textwrap.dedent(
    f"""
    import asyncio, json, os, sys
    from pathlib import Path
    from pydantic import SecretStr
    from sidecar.jobs import liveness
    liveness.HEARTBEAT_S, liveness.HEARTBEAT_TTL_S = 0.5, {TTL_S}
    from sidecar.jobs import all_jobs
    from sidecar.jobs.registry import JobSpec
    from sidecar.jobs.worker import build_worker
    from sidecar.services import open_services
    from sidecar.settings import Settings

    async def blocking(services, progress):
        await progress.update(1, 2, "waiting at the gate")
        await progress.flush()
        while True:
            if not await services.redis.exists({GATE!r}):
                return {{"passed": True}}
            await asyncio.sleep(0.05)

    all_jobs.JOBS = (*all_jobs.JOBS, JobSpec({BLOCKING!r}, blocking, "runs while the test's gate key exists"))

    async def main():
        env = json.loads(os.environ["TEST_WORKER"])
        settings = Settings(
            _env_file=None, data_dir=Path(env["data_dir"]), database_url=SecretStr(env["db"]),
            redis_url=SecretStr(env["redis"]), session_secret=SecretStr("s" * 32), webhook_secret=SecretStr("w"),
        )
        services = await open_services(settings, env["db"], env["redis"])
        worker = build_worker({{"services": services}}, env["redis"], handle_signals=False)
        await worker.async_run()

    asyncio.run(main())
    """
)


async def _wait_for(predicate: Callable[[], Awaitable[bool]], what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def _runs(services: Services) -> list[dict[str, Any]]:
    async with services.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT id, status, error, worker_id FROM job_run WHERE job_name = :n ORDER BY id"), {"n": BLOCKING}
        )
        return [dict(r._mapping) for r in rows]


@pytest.fixture(autouse=True)
def blocking_job(monkeypatch: pytest.MonkeyPatch) -> None:
    """The blocking job is one of Marquee's jobs for these tests only (worker, Run now)."""
    spec = JobSpec(BLOCKING, _blocking, "runs while the test's gate key exists")
    monkeypatch.setattr(all_jobs, "JOBS", (*all_jobs.JOBS, spec))


@pytest.fixture
def short_heartbeat(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(liveness, "HEARTBEAT_S", 0.5)
    monkeypatch.setattr(liveness, "HEARTBEAT_TTL_S", TTL_S)


async def _redis_up_long_enough(services: Services) -> None:
    async def steady() -> bool:
        return await liveness.absences_mean_death(services.redis)

    await _wait_for(steady, "Redis to be up for longer than a heartbeat")


async def test_a_run_killed_mid_way_is_interrupted_and_runs_again_at_once(
    services: Services, short_heartbeat: None, tmp_path: Path
) -> None:
    await _redis_up_long_enough(services)
    await services.redis.set(GATE, "1")
    env = {
        "data_dir": str(services.settings.resolved_data_dir),
        "db": services.database_url,
        "redis": services.redis_url,
    }
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            WORKER_SCRIPT,
            env={**os.environ, "TEST_WORKER": json.dumps(env)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        await enqueue(services.redis, BLOCKING, job_id=BLOCKING)

        async def at_the_gate() -> bool:
            assert process.returncode is None, log.read_text()
            runs = await _runs(services)
            return bool(runs) and runs[0]["status"] == "running"

        await _wait_for(at_the_gate, "the worker process to start the job")
    finally:
        process.kill()  # SIGKILL: no clean-up of any kind
        await process.wait()
    (dead,) = await _runs(services)
    assert dead["status"] == "running" and dead["worker_id"]
    # What used to block "Run now" and the job itself for an hour:
    assert await services.redis.pttl(in_progress_key_prefix + BLOCKING) > 3_000_000

    async def heartbeat_expired() -> bool:
        return not await services.redis.exists(liveness.alive_key(dead["worker_id"]))

    await _wait_for(heartbeat_expired, "the dead worker's heartbeat to expire")
    await services.redis.delete(GATE)
    started = time.monotonic()
    worker = build_worker({"services": services}, services.redis_url, handle_signals=False)
    task = asyncio.create_task(worker.async_run())
    try:

        async def ran_again() -> bool:
            return any(r["status"] == "done" for r in await _runs(services))

        await _wait_for(ran_again, "the job to run again on the new worker")
    finally:
        await stop_worker(worker, task)
    assert time.monotonic() - started < 20  # not after arq's hour-long in-progress timeout
    first, again = await _runs(services)
    assert first["id"] == dead["id"] and first["status"] == "interrupted"
    assert dead["worker_id"] in first["error"] and "stopped without finishing" in first["error"]
    assert again["status"] == "done" and again["worker_id"] != dead["worker_id"]
    assert await services.redis.hgetall(liveness.RUNNING_KEY) == {}

    # and "Run now" starts it at once
    assert (await control.run_job(services, BLOCKING))["queued"] is True


async def test_a_clean_stop_marks_the_runs_it_cancels_interrupted_and_they_run_again(
    services: Services, short_heartbeat: None
) -> None:
    await services.redis.set(GATE, "1")
    worker = build_worker({"services": services}, services.redis_url, handle_signals=False)
    task = asyncio.create_task(worker.async_run())
    try:
        await enqueue(services.redis, BLOCKING, job_id=BLOCKING)

        async def running() -> bool:
            runs = await _runs(services)
            return bool(runs) and runs[-1]["status"] == "running"

        await _wait_for(running, "the job to start")

        async def ticked() -> bool:
            # The worker's start-up scheduler tick is a cron job: stopped mid-way, arq keeps it queued and
            # "in progress" for a minute, and the burst worker below would wait for it. Stop after it.
            return worker.jobs_complete >= 1

        await _wait_for(ticked, "the start-up scheduler tick to finish")
    finally:
        await stop_worker(worker, task)  # what SIGTERM does to `marquee serve`
    (stopped,) = await _runs(services)
    assert stopped["status"] == "interrupted" and "worker stopped" in stopped["error"]
    assert not await services.redis.exists(liveness.alive_key(stopped["worker_id"]))  # a clean stop says goodbye

    await services.redis.delete(GATE)
    again = build_worker({"services": services}, services.redis_url, handle_signals=False, burst=True)
    await asyncio.wait_for(again.async_run(), 30)
    await again.close()
    assert [r["status"] for r in await _runs(services)] == ["interrupted", "done"]


async def _insert_run(services: Services, worker_id: str | None, arq_job_id: str | None = BLOCKING) -> int:
    async with services.engine.begin() as conn:
        return int(
            (
                await conn.execute(
                    text(
                        "INSERT INTO job_run (job_name, arq_job_id, worker_id, status, progress_current, message)"
                        " VALUES (:n, :a, :w, 'running', 0, '') RETURNING id"
                    ),
                    {"n": BLOCKING, "a": arq_job_id, "w": worker_id},
                )
            ).scalar_one()
        )


async def test_reap_leaves_live_workers_alone_and_judges_nobody_right_after_an_outage(
    services: Services, short_heartbeat: None
) -> None:
    await _redis_up_long_enough(services)
    redis = services.redis
    live, dead = "host:1:live", "host:2:dead"
    await redis.set(liveness.alive_key(live), "{}", ex=60)
    for job_id, owner in (("job-live", live), ("job-dead", dead)):
        await redis.set(in_progress_key_prefix + job_id, b"1", ex=3600)
        await redis.hset(liveness.RUNNING_KEY, job_id, owner)
    live_run = await _insert_run(services, live)
    dead_run = await _insert_run(services, dead)
    legacy_held = await _insert_run(services, None, arq_job_id="job-live")  # before worker ids: arq still holds it
    legacy_gone = await _insert_run(services, None, arq_job_id="job-nobody-holds")

    # This process's heartbeat could not reach Redis a moment ago: a missing key proves nothing yet.
    liveness._trust.failed("this-process")
    liveness._trust.succeeded("this-process")
    assert not await liveness.reap(services)
    liveness._trust._until = 0.0

    reaped = await liveness.reap(services)
    assert reaped.dead_workers == [dead]
    assert reaped.freed_jobs == ["job-dead"]
    assert sorted(reaped.interrupted_runs) == sorted([dead_run, legacy_gone])
    assert await redis.exists(in_progress_key_prefix + "job-live") == 1
    assert await redis.exists(in_progress_key_prefix + "job-dead") == 0
    assert await redis.hgetall(liveness.RUNNING_KEY) == {b"job-live": live.encode()}
    statuses = {r["id"]: r["status"] for r in await _runs(services)}
    assert statuses == {
        live_run: "running",
        dead_run: "interrupted",
        legacy_held: "running",
        legacy_gone: "interrupted",
    }
    assert not await liveness.reap(services)  # nothing left to settle
