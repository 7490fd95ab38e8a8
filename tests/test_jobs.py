"""The job machinery with a real worker and Redis: runs are recorded with progress, failures kept."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import select

from sidecar.db.models import JobDefinition, JobRun
from sidecar.jobs.all_jobs import JOBS
from sidecar.jobs.progress import Progress
from sidecar.jobs.registry import JobSpec, load_jobs, wrap
from sidecar.jobs.schedule import is_due, previous_slot, seed_job_definitions, validate_schedule
from sidecar.services import Services


async def _counting(services: Services, progress: Progress, upto: int = 3) -> dict[str, Any]:
    for i in range(upto):
        await progress.update(i + 1, upto, f"step {i + 1}")
    progress.log("counted")
    return {"counted": upto}


async def _failing(services: Services, progress: Progress) -> None:
    raise RuntimeError("the disk is full")


# Jobs of this test only: run through ``wrap`` directly, never added to Marquee's job list.
COUNTING = JobSpec("test-counting", _counting, "counts to three")
FAILING = JobSpec("test-failing", _failing, "always fails")


async def _run(services: Services, spec: JobSpec, **kwargs: Any) -> Any:
    function = wrap(spec)
    return await function.coroutine({"services": services, "job_id": "j1", "job_try": 1}, **kwargs)


async def test_a_run_records_progress_log_and_result(services: Services) -> None:
    result = await _run(services, COUNTING, upto=3)
    assert result == {"counted": 3}
    async with services.sessions() as session:
        run = (await session.exec(select(JobRun))).one()
    assert (run.status, run.progress_current, run.progress_total) == ("done", 3, 3)
    assert run.result == {"counted": 3}
    assert any("counted" in line for line in run.log)
    assert run.finished_at is not None


async def test_a_failure_is_recorded_with_its_message(services: Services) -> None:
    with pytest.raises(RuntimeError):
        await _run(services, FAILING)
    async with services.sessions() as session:
        run = (await session.exec(select(JobRun))).one()
    assert run.status == "failed"
    assert run.error == "the disk is full"


async def test_seeding_keeps_an_admins_schedule(services: Services) -> None:
    specs = load_jobs()
    await seed_job_definitions(services.sessions, specs)
    async with services.sessions() as session:
        row = await session.get(JobDefinition, "prune-history")
        assert row is not None
        row.schedule = "interval:15"
        await session.commit()
    await seed_job_definitions(services.sessions, specs)
    async with services.sessions() as session:
        again = await session.get(JobDefinition, "prune-history")
        assert again is not None and again.schedule == "interval:15"
        names = set((await session.exec(select(JobDefinition.name))).all())
    assert set(specs) <= names


def test_schedules() -> None:
    now = datetime(2026, 11, 24, 10, 7, tzinfo=UTC)  # a Tuesday
    assert previous_slot("interval:15", now) == datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    assert previous_slot("daily:04:00", now) == datetime(2026, 11, 24, 4, 0, tzinfo=UTC)
    assert previous_slot("daily:23:00", now) == datetime(2026, 11, 23, 23, 0, tzinfo=UTC)
    assert previous_slot("weekly:sun:04:00", now) == datetime(2026, 11, 22, 4, 0, tzinfo=UTC)
    assert is_due("daily:04:00", now - timedelta(days=1), now)
    assert not is_due("daily:04:00", now - timedelta(hours=1), now)
    assert not is_due(None, None, now)
    for bad in ("hourly", "interval:0", "daily:25:00", "weekly:someday:04:00", "interval:x"):
        with pytest.raises(ValueError):
            validate_schedule(bad)


@pytest.fixture
def counting_job(monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker runs the counting job too, for this test only."""
    from sidecar.jobs import all_jobs

    monkeypatch.setattr(all_jobs, "JOBS", (*all_jobs.JOBS, COUNTING))


@pytest.mark.usefixtures("counting_job")
async def test_the_worker_runs_an_enqueued_job(services: Services) -> None:
    from sidecar.jobs.queue import enqueue
    from sidecar.jobs.worker import build_worker

    worker = build_worker({"services": services}, services.redis_url, handle_signals=False, burst=True)
    await enqueue(services.redis, "test-counting", job_id="test-counting", upto=2)
    await asyncio.wait_for(worker.async_run(), timeout=30)
    async with services.sessions() as session:
        runs = (await session.exec(select(JobRun).where(JobRun.job_name == "test-counting"))).all()
    assert [r.status for r in runs] == ["done"]
    await worker.close()


def test_arq_cli_worker_settings_need_external_urls(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    import sidecar.jobs.worker as worker_module

    monkeypatch.setenv("MARQUEE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("MARQUEE_DATABASE_URL", raising=False)
    with pytest.raises(RuntimeError, match="MARQUEE_DATABASE_URL"):
        _ = worker_module.WorkerSettings
    monkeypatch.setenv("MARQUEE_DATABASE_URL", "postgresql://u@db:5432/marquee")
    monkeypatch.setenv("MARQUEE_REDIS_URL", "redis://cache:6379/0")
    settings_class = worker_module.WorkerSettings
    assert settings_class.redis_settings.host == "cache"
    assert {f.name for f in settings_class.functions} >= {"initial-sync", "user-follow-up"}


async def _insert_events(services: Services, rows: list[tuple[str | None, str, int]]) -> None:
    """(event_type, status, days ago) → webhook_event rows."""
    async with services.engine.begin() as conn:
        for n, (event_type, status, days) in enumerate(rows):
            await conn.execute(
                text(
                    "INSERT INTO webhook_event (source, content_hash, event_type, headers, body, status, attempts,"
                    " received_at) VALUES ('jellyfin', :h, :t, '{}', 'x', :s, 0, now() - make_interval(days => :d))"
                ),
                {"h": f"h{n}", "t": event_type, "s": status, "d": days},
            )


async def test_prune_history_keeps_what_the_rules_say(services: Services) -> None:
    await _insert_events(
        services,
        [("playback.stop", "done", 0)] * 130  # more than keep_events_max of one kind: the oldest 30 go
        + [("item.added", "done", 20), ("item.added", "ignored", 15), ("item.added", "done", 1)]  # old ones go
        + [(None, "rejected", 400), ("playback.stop", "failed", 400), ("playback.stop", "pending", 30)],  # kept
    )
    async with services.engine.begin() as conn:
        await conn.execute(
            text("INSERT INTO media_server (kind, url, name, settings) VALUES ('Jellyfin','u','s','{}')")
        )
        await conn.execute(
            text(
                "INSERT INTO app_user (server_id, provider_id, name, is_admin, is_disabled, enable_all_folders,"
                " movies_enabled, series_enabled)"
                " SELECT id, 'u1', 'alice', false, false, true, true, true FROM media_server"
            )
        )
        await conn.execute(
            text(
                "INSERT INTO item (server_id, provider_id, kind, name, genres, tags, studios, people, provider_ids,"
                " image_tags) SELECT id, 'm1', 'Movie', 'M', '[]', '[]', '[]', '[]', '{}', '{}' FROM media_server"
            )
        )
        # the play history of a pruned event stays, unlinked
        await conn.execute(
            text(
                "INSERT INTO play_event (user_id, item_id, kind, completed, source, webhook_event_id)"
                " SELECT u.id, i.id, 'stop', true, 'webhook', (SELECT min(id) FROM webhook_event)"
                " FROM app_user u, item i"
            )
        )
        for days in (40, 30, 20):  # a weekly job: only its newest run survives the age limit
            await conn.execute(
                text(
                    "INSERT INTO job_run (job_name, status, progress_current, message, started_at, finished_at)"
                    " VALUES ('weekly', 'done', 0, '', now() - make_interval(days => :d),"
                    " now() - make_interval(days => :d))"
                ),
                {"d": days},
            )
        await conn.execute(
            text(
                "INSERT INTO job_run (job_name, status, progress_current, message, started_at, finished_at)"
                " SELECT 'busy', 'done', 0, '', now() - make_interval(secs => n), now() - make_interval(secs => n)"
                " FROM generate_series(1, 105) AS n"
            )
        )
        await conn.execute(
            text(
                "INSERT INTO job_run (job_name, status, progress_current, message, started_at)"
                " VALUES ('weekly', 'running', 0, '', now() - interval '30 days')"
            )
        )
    services.settings = services.settings.model_copy(update={"keep_events_days": 14, "keep_events_max": 100})
    result = await _run(services, load_jobs()["prune-history"])
    assert result["events"] == {"playback.stop": 30, "item.added": 2}
    assert result["job_runs"] == 2 + 5
    async with services.engine.connect() as conn:
        kept = {
            (r[0], r[1]): r[2]
            for r in await conn.execute(
                text("SELECT coalesce(event_type, '?'), status, count(*) FROM webhook_event GROUP BY 1, 2")
            )
        }
        newest_stop = (
            await conn.execute(
                text("SELECT min(id) FROM webhook_event WHERE status = 'done' AND event_type = 'playback.stop'")
            )
        ).scalar_one()
        runs = {
            (r[0], r[1]): r[2]
            for r in await conn.execute(text("SELECT job_name, status, count(*) FROM job_run GROUP BY 1, 2"))
        }
        history = (await conn.execute(text("SELECT count(*), count(webhook_event_id) FROM play_event"))).one()
    assert kept == {
        ("playback.stop", "done"): 100,
        ("item.added", "done"): 1,
        ("?", "rejected"): 1,
        ("playback.stop", "failed"): 1,
        ("playback.stop", "pending"): 1,
    }
    assert newest_stop == 31  # the 30 oldest of the kind went
    assert runs == {
        ("weekly", "done"): 1,
        ("weekly", "running"): 1,
        ("busy", "done"): 100,
        ("prune-history", "done"): 1,
    }
    assert tuple(history) == (1, 0)


@pytest.mark.usefixtures("counting_job")
async def test_the_minutely_internal_jobs_record_no_runs(services: Services) -> None:
    """The scheduler tick (an arq cron job, never wrapped) and the minutely sweep would otherwise add a job_run
    row every minute."""
    from sidecar.jobs.queue import enqueue
    from sidecar.jobs.worker import build_worker

    worker = build_worker({"services": services}, services.redis_url, handle_signals=False, burst=True)
    await enqueue(services.redis, "sweep-webhooks", job_id="sweep-webhooks")
    await enqueue(services.redis, "test-counting", job_id="test-counting", upto=1)
    started = time.time()
    await asyncio.wait_for(worker.async_run(), timeout=30)
    await worker.close()
    # The tick at start-up, the sweep and the counting job; the tick is also an arq cron at second 0 of every
    # minute, so a run that crosses a minute boundary (a slow machine) also ran that tick and the sweep it queued.
    boundaries = int(time.time() // 60) - int(started // 60)
    assert 3 <= worker.jobs_complete <= 3 + 2 * boundaries, (worker.jobs_complete, boundaries)
    async with services.sessions() as session:
        runs = (await session.exec(select(JobRun.job_name))).all()
    assert runs == ["test-counting"]


def test_the_job_list_is_explicit_and_complete() -> None:
    """Every job is listed once in ``JOBS``; a test's own jobs never leak into it."""
    names = [spec.name for spec in JOBS]
    assert len(names) == len(set(names))
    assert list(load_jobs()) == names
    assert {"test-counting", "test-failing"}.isdisjoint(names)
    assert {
        "sync-users", "sync-libraries", "sync-movies", "sync-series", "sync-catalogue", "sync-watch-history",
        "sync-watch-history-full", "initial-sync", "process-webhook-event", "user-follow-up", "sweep-webhooks",
        "generate-embeddings", "generate-series-embeddings", "switch-embedding-model", "generate-recommendations",
        "generate-series-recommendations", "rebuild-recommendations", "sync-movie-libraries",
        "sync-series-libraries", "refresh-top-picks", "prune-history", "refresh-channels", "evaluate-server",
    } == set(names)  # fmt: skip
    internal = {spec.name for spec in JOBS if not spec.manual}
    assert internal == {"process-webhook-event", "user-follow-up"}


async def test_run_and_wait_does_not_follow_a_run_that_has_just_ended(services: Services) -> None:
    """A run writes its end to job_run a moment before arq drops its job key. Asked in that moment, ``marquee demo``
    and ``run-job`` once took the ended run's key as "joined" and then waited for a start that never came."""
    from arq.jobs import Job, JobStatus

    from sidecar.commands import run_and_wait
    from sidecar.services import QUEUE_NAME

    name = "sync-movie-libraries"
    now = datetime.now(UTC)
    async with services.sessions() as session:
        session.add(JobRun(job_name=name, status="done", started_at=now - timedelta(seconds=20), finished_at=now))
        await session.commit()
    # arq still tidying up the run that ended: its job and in-progress keys are still there
    await services.redis.set(f"arq:job:{name}", b"x")
    await services.redis.set(f"arq:in-progress:{name}", b"1")

    async def worker_side() -> None:
        await asyncio.sleep(0.3)
        await services.redis.delete(f"arq:job:{name}", f"arq:in-progress:{name}")  # arq finishes tidying up
        while await Job(name, services.redis, _queue_name=QUEUE_NAME).status() != JobStatus.queued:  # noqa: ASYNC110 (state in Redis)
            await asyncio.sleep(0.02)  # the follower queued a new run: a worker picks it up and runs it
        async with services.sessions() as session:
            session.add(JobRun(job_name=name, status="done", finished_at=datetime.now(UTC), message="the new run"))
            await session.commit()

    side = asyncio.create_task(worker_side())
    run = await run_and_wait(services, name, timeout_s=10, out=lambda _line: None)
    await side
    assert run.message == "the new run"
