"""``marquee evaluate --server`` end to end: a simulated Jellyfin over real HTTP with seeded watch histories, synced
into Marquee for real and embedded with the hashing test double; then the ``evaluate-server`` job queued as
"Run now" queues it and run by an arq worker, and the command as an admin types it. Both store a result the
Quality page reads."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from arq.worker import Worker
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from providers.simulator import Simulator, serve_simulator, synthetic_catalog
from sidecar import cli
from sidecar.ai_factory import build_embedder
from sidecar.db.models import JobRun
from sidecar.embeddings import embed_items
from sidecar.jobs import control
from sidecar.jobs.progress import Progress
from sidecar.jobs.registry import load_jobs, wrap
from sidecar.jobs.sync_jobs import initial_sync_job
from sidecar.jobs.worker import on_shutdown, on_startup
from sidecar.media_types import MediaType
from sidecar.server_evaluation_store import latest_evaluations
from sidecar.services import QUEUE_NAME, Services, open_services, redis_settings
from sidecar.settings import Settings
from tests.embeddings.doubles import HashingEmbedder

VIEWERS = ["alice", "bob", "carol", "dave"]


@pytest.fixture
async def synced(settings: Settings, clean_db: AsyncEngine, clean_redis: str) -> AsyncIterator[Services]:
    sim = Simulator(
        "jellyfin", catalog=synthetic_catalog(movies=60, series=3, seed=11), users=VIEWERS, seed_history=True, seed=5
    )
    async with serve_simulator(sim) as url:
        configured = settings.model_copy(
            update={
                "media_server_url": url,
                "media_server_type": "jellyfin",
                "media_server_api_key": SecretStr(sim.admin_api_key),
            }
        )
        assert configured.database_url is not None
        services = await open_services(configured, configured.database_url.get_secret_value(), clean_redis)
        try:
            await initial_sync_job(services, Progress.detached())
            # Under the configured model's name, so the command (its own process' services) finds the vectors.
            services.embedder = HashingEmbedder(64, name=build_embedder(settings).name)
            for media_type in (MediaType.MOVIES, MediaType.SERIES):
                await embed_items(services, services.embedder, media_type, Progress.detached())
            yield services
        finally:
            await services.aclose()
            await sim.webhooks.aclose()


def _sane(result: dict[str, Any]) -> None:
    assert result["users_with_history"] == len(VIEWERS)  # the simulator's admin has no history
    counted = [r for r in result["per_user"] if r["counted"]]
    assert result["users_evaluated"] == len(counted) >= 3
    assert {r["name"] for r in result["per_user"]} <= set(VIEWERS)
    assert set(result["overall"]) == {"marquee", "popularity", "content-only"}
    for scores in result["overall"].values():
        assert 0.0 <= scores["ndcg10"] <= 1.0 and 0.0 <= scores["recall20"] <= 1.0 and 0.0 <= scores["hit10"] <= 1.0
        assert scores["users"] == len(counted)
    for row in counted:
        assert row["held_out"] == result["holdout"] and row["history"] >= result["min_history"]
        assert all(0.0 <= x <= 1.0 for x in row["ndcg10"].values())
    assert result["overall"]["marquee"]["ndcg10"] > 0.0  # tastes of two genres: Marquee finds some of them


async def test_the_job_runs_from_run_now_with_progress_and_stores_the_result(synced: Services) -> None:
    services = synced
    await control.run_job(services, "evaluate-server")  # what the page's "Run now" does
    worker = Worker(
        functions=[wrap(load_jobs()["evaluate-server"])],
        redis_settings=redis_settings(services.redis_url),
        queue_name=QUEUE_NAME,
        on_startup=on_startup,
        on_shutdown=on_shutdown,
        ctx={"services": services, "startup_hooks": []},
        handle_signals=False,
        burst=True,
        keep_result=0,
        poll_delay=0.05,
    )
    try:
        await worker.async_run()
    finally:
        await worker.close()
    async with services.sessions() as session:
        run = (await session.exec(select(JobRun).where(JobRun.job_name == "evaluate-server"))).one()
    assert run.status == "done", run.error
    assert (run.progress_current, run.progress_total, run.message) == (2, 2, "evaluated movies, series")
    assert any(" movies: " in line and "Marquee NDCG@10" in line for line in run.log), run.log
    assert run.result["movies"]["users_evaluated"] >= 3

    latest = await latest_evaluations(services)
    movies = latest["movies"]
    assert movies["job_run_id"] == run.id and (movies["holdout"], movies["min_history"]) == (5, 5)
    _sane(movies)
    assert latest["series"]["users_evaluated"] == 0 and latest["series"]["overall"] == {}  # 1-3 shows each


async def test_the_command_prints_the_table_and_stores_it(
    synced: Services, settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert settings.database_url is not None and settings.redis_url is not None
    monkeypatch.setenv("MARQUEE_DATABASE_URL", settings.database_url.get_secret_value())
    monkeypatch.setenv("MARQUEE_REDIS_URL", settings.redis_url.get_secret_value())
    monkeypatch.setenv("MARQUEE_DATA_DIR", str(settings.data_dir))
    argv = ["evaluate", "--server", "--holdout", "4", "--min-history", "6", "--media-type", "movies"]
    assert await asyncio.to_thread(cli.main, argv) == 0
    printed = capsys.readouterr().out
    assert "movies:" in printed and "had 10+ plays (last 4 held out)" in printed
    for label in ("Marquee", "Popularity", "Content-only"):
        assert label in printed
    assert any(name in printed for name in VIEWERS)

    latest = await latest_evaluations(synced)
    assert set(latest) == {"movies"} and latest["movies"]["job_run_id"] is None
    assert (latest["movies"]["holdout"], latest["movies"]["min_history"]) == (4, 6)
    _sane(latest["movies"])
    marquee = latest["movies"]["overall"]["marquee"]["ndcg10"]
    assert f"{marquee:.4f}" in printed

    assert await asyncio.to_thread(cli.main, ["evaluate", "--server", "--holdout", "0"]) == 2
    assert "--holdout and --min-history must be at least 1" in capsys.readouterr().err
    async with synced.sessions() as session:
        runs = (await session.exec(select(JobRun).where(col(JobRun.job_name) == "evaluate-server"))).all()
    assert runs == []  # the command runs in its own process, not on the worker
