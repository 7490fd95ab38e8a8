"""Cancel really stops a run: through arq's abort (a job waiting on I/O) and through the stop flag that
``Progress`` reads at each update (a job run outside arq, or between two steps), and turning a job off
cancels its run. Real PostgreSQL, Redis and arq worker."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import select

from sidecar.db.models import JobRun
from sidecar.jobs import all_jobs, control, liveness
from sidecar.jobs.cancellation import JobCancelled, flag_key
from sidecar.jobs.progress import Progress, start_run
from sidecar.jobs.registry import JobSpec, load_jobs, wrap
from sidecar.jobs.schedule import seed_job_definitions
from sidecar.services import Services
from sidecar.sync import state as sync_state

STEPS = 400


async def _ticking(services: Services, progress: Progress, steps: int = STEPS) -> dict[str, Any]:
    """Writes one row per step: the test watches the table to see the work stop."""
    for i in range(steps):
        async with services.engine.begin() as conn:
            await conn.execute(text("INSERT INTO test_tick (n) VALUES (:n)"), {"n": i})
        await progress.update(i + 1, steps, f"tick {i + 1}")
        await progress.flush()
        await asyncio.sleep(0.02)
    return {"ticks": steps}


async def _sleeping(services: Services, progress: Progress) -> dict[str, Any]:
    """Reports once, then waits on "the network" with no checkpoint: only arq's abort can stop it."""
    await progress.update(0, 1, "waiting for the server")
    await progress.flush()
    await asyncio.sleep(120)
    return {}


TICKING = JobSpec("test-ticking", _ticking, "writes a row per step (test job)")
SLEEPING = JobSpec("test-sleeping", _sleeping, "waits a long time (test job)")


@pytest.fixture
async def ticks(services: Services) -> AsyncIterator[None]:
    async with services.engine.begin() as conn:
        await conn.execute(text("CREATE TABLE IF NOT EXISTS test_tick (n int)"))
        await conn.execute(text("TRUNCATE test_tick"))
    yield
    async with services.engine.begin() as conn:  # the session's database is shared: leave its schema as found
        await conn.execute(text("DROP TABLE test_tick"))


async def _tick_count(services: Services) -> int:
    async with services.engine.connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM test_tick"))).scalar_one())


@pytest.fixture
def test_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Marquee's job list holds the test jobs too, for this test only."""
    monkeypatch.setattr(all_jobs, "JOBS", (*all_jobs.JOBS, TICKING, SLEEPING))


@pytest.fixture
async def worker(services: Services, test_jobs: None) -> AsyncIterator[None]:
    """A real arq worker (as ``marquee serve`` runs it) that also knows the test jobs."""
    from sidecar.jobs.worker import build_worker, stop_worker

    await sync_state.record(services.engine, sync_state.INITIAL_SYNC, {"by": "test"})  # no first sync
    await seed_job_definitions(services.sessions, load_jobs())
    built = build_worker({"services": services}, services.redis_url, handle_signals=False)
    task = asyncio.create_task(built.async_run())
    yield
    await stop_worker(built, task)


async def _wait_for(condition: Any, within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def _runs(services: Services, name: str) -> list[JobRun]:
    async with services.sessions() as session:
        return list((await session.exec(select(JobRun).where(JobRun.job_name == name))).all())


@pytest.mark.usefixtures("worker", "ticks")
async def test_cancel_stops_a_running_job_within_seconds_and_its_writes_stop(services: Services) -> None:
    await control.run_job(services, TICKING.name)

    async def ticking() -> bool:
        return await _tick_count(services) >= 10

    await _wait_for(ticking)
    started = time.monotonic()
    answer = await control.cancel_job(services, TICKING.name)
    elapsed = time.monotonic() - started
    assert [r["status"] for r in answer["runs"]] == ["cancelled"], answer
    assert elapsed < 3, elapsed
    (run,) = await _runs(services, TICKING.name)
    assert run.status == "cancelled" and run.finished_at is not None
    assert run.error == "cancelled by an administrator"
    assert 10 <= run.progress_current < STEPS
    written = await _tick_count(services)
    assert written < STEPS
    await asyncio.sleep(0.5)  # ~25 more rows if the job still ran
    assert await _tick_count(services) == written
    # the job is not queued again (a cancelled run is not arq's "run again"), and Run now works again
    assert TICKING.name not in await control.queued_job_names(services)
    assert (await control.run_job(services, TICKING.name))["queued"] is True


@pytest.mark.usefixtures("worker")
async def test_arqs_abort_stops_a_job_that_never_reaches_a_checkpoint(services: Services) -> None:
    await control.run_job(services, SLEEPING.name)

    async def waiting() -> bool:
        return any(r.message == "waiting for the server" for r in await _runs(services, SLEEPING.name))

    await _wait_for(waiting)
    started = time.monotonic()
    answer = await control.cancel_job(services, SLEEPING.name)
    assert [r["status"] for r in answer["runs"]] == ["cancelled"], answer
    assert time.monotonic() - started < 3


@pytest.mark.usefixtures("ticks", "test_jobs")
async def test_a_run_outside_arq_stops_at_its_next_progress_update(services: Services) -> None:
    """No worker, no abort: only the flag Progress reads stops it (as for `marquee run-job` style runs)."""
    # a live worker id, so the reaper (run before every cancel) leaves the run alone
    await services.redis.set(liveness.alive_key("test-worker"), "{}", ex=60)
    ctx = {"services": services, "job_id": "t1", "job_try": 1, liveness.CTX_WORKER_ID: "test-worker"}
    task = asyncio.create_task(wrap(TICKING).coroutine(ctx))
    try:

        async def ticking() -> bool:
            return await _tick_count(services) >= 5

        await _wait_for(ticking)
        answer = await control.cancel_job(services, TICKING.name)
        assert [r["status"] for r in answer["runs"]] == ["cancelled"]
        assert await asyncio.wait_for(task, 5) == {"cancelled": True}
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    written = await _tick_count(services)
    await asyncio.sleep(0.3)
    assert await _tick_count(services) == written < STEPS


async def test_progress_raises_once_the_flag_is_set(services: Services) -> None:
    progress = await start_run(services.sessions, "test-ticking", None, {})
    from functools import partial

    from sidecar.jobs.cancellation import stop_requested

    progress.stop_requested = partial(stop_requested, services.redis, progress.run_id)
    await progress.update(1, 3, "one")
    assert progress.run_id is not None
    await services.redis.set(flag_key(progress.run_id), "1")
    await asyncio.sleep(0.3)  # past the check interval
    with pytest.raises(JobCancelled):
        await progress.update(2, 3, "two")
    with pytest.raises(JobCancelled):  # and stays stopped
        await progress.checkpoint()
    assert progress.current == 1


@pytest.mark.usefixtures("worker", "ticks")
async def test_turning_a_running_job_off_cancels_it(services: Services) -> None:
    await control.run_job(services, TICKING.name)

    async def ticking() -> bool:
        return await _tick_count(services) >= 5

    await _wait_for(ticking)
    answer = await control.set_job(services, TICKING.name, enabled=False)
    assert answer["enabled"] is False and answer["cancelled"]["name"] == TICKING.name

    async def cancelled() -> bool:
        return [r.status for r in await _runs(services, TICKING.name)] == ["cancelled"]

    await _wait_for(cancelled, within=5)


async def test_cancel_says_when_nothing_runs_and_takes_a_queued_job_off_the_queue(services: Services) -> None:
    await seed_job_definitions(services.sessions, load_jobs())
    with pytest.raises(control.JobNotRunning, match="nothing to cancel"):
        await control.cancel_job(services, "sync-movies")
    await control.run_job(services, "sync-movies")  # no worker: it waits in the queue
    assert "sync-movies" in await control.queued_job_names(services)
    answer = await control.cancel_job(services, "sync-movies")
    assert answer == {"name": "sync-movies", "runs": [], "dequeued": ["manual:sync-movies"]}
    assert "sync-movies" not in await control.queued_job_names(services)
    assert (await control.run_job(services, "sync-movies"))["queued"] is True  # and can be queued again


def test_apertures_job_names_are_aliases_of_one_spec_each() -> None:
    jobs = load_jobs()
    seed = [
        "sync-movies", "generate-embeddings", "sync-watch-history", "full-sync-watch-history",
        "generate-recommendations", "rebuild-recommendations", "sync-movie-libraries", "sync-series",
        "generate-series-embeddings", "sync-series-watch-history", "full-sync-series-watch-history",
        "generate-series-recommendations", "sync-series-libraries", "refresh-top-picks",
    ]  # fmt: skip
    for name in seed:
        assert control.resolve(name).name in jobs, name
    assert control.resolve("full-sync-watch-history") is jobs["sync-watch-history-full"]
    assert control.resolve("full-sync-series-watch-history") is jobs["sync-watch-history-full"]
    assert control.resolve("sync-series-watch-history") is jobs["sync-watch-history"]
    aliases = [a for spec in jobs.values() for a in spec.aliases]
    assert len(aliases) == len(set(aliases)) and not set(aliases) & set(jobs)
    with pytest.raises(Exception, match="no job named"):
        control.resolve("sync-everything")
