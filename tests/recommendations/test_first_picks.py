"""First picks before embeddings: a new install publishes picks from co-watch, popularity and metadata as soon
as the catalogue and histories are synced, then the embedding run queues the same lists refined by the vectors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from arq.constants import in_progress_key_prefix
from sqlalchemy import text

from providers.base import make_media_server
from providers.simulator.catalog import synthetic_catalog
from providers.simulator.serve import serve_simulator
from providers.simulator.state import Simulator
from sidecar.demo_command import _opt_in_to_private_libraries
from sidecar.jobs.embed_jobs import generate_embeddings
from sidecar.jobs.progress import Progress
from sidecar.jobs.recommend_jobs import generate_recommendations, queue_recommend_and_publish
from sidecar.jobs.sync_jobs import initial_sync_job
from sidecar.media_types import MediaType
from sidecar.recommender import ItemFacts, WatchEvent, prepare_model, recommend
from sidecar.services import QUEUE_NAME, Services
from tests.embeddings.doubles import HashingEmbedder


async def _queued(services: Services) -> list[tuple[str, dict[str, Any]]]:
    return [(job.function, job.kwargs) for job in await services.redis.queued_jobs(queue_name=QUEUE_NAME)]


async def _count(services: Services, sql: str) -> int:
    async with services.engine.connect() as conn:
        return int((await conn.execute(text(sql))).scalar_one())


async def test_picks_are_published_before_any_title_is_embedded_then_refined(
    services: Services, tmp_path: Path
) -> None:
    sim = Simulator(
        "jellyfin",
        catalog=synthetic_catalog(30, 3, seed=5),
        users=["alice", "bob", "carol"],
        seed_history=True,
        media_root=tmp_path / "media",
        scan_duration_s=0.01,
    )
    async with serve_simulator(sim) as url:
        services.media_server = make_media_server("jellyfin", url, sim.admin_api_key)
        services.embedder = HashingEmbedder(32)
        await _opt_in_to_private_libraries(services)  # each AI Picks library private, as an admin would
        await initial_sync_job(services, Progress.detached())

        queued = await _queued(services)
        assert ("generate-recommendations", {"publish": True}) in queued
        assert ("generate-series-recommendations", {"publish": True}) in queued
        assert await _count(services, "SELECT count(*) FROM item_embedding") == 0

        first = await generate_recommendations(services, Progress.detached(), publish=True)
        await sim.wait_scans()
        assert first["picks"] > 0 and not first["failed"]
        libraries = {lib.name: lib for lib in sim.libraries.values()}
        published = [name for name in ("alice", "bob", "carol") if libraries.get(f"AI Picks - {name}")]
        assert published, sorted(libraries)
        assert all(libraries[f"AI Picks - {name}"].item_ids for name in published)
        assert await _count(services, "SELECT count(*) FROM item_embedding") == 0  # published before any vector
        assert await _count(services, "SELECT count(*) FROM recommendation WHERE evidence <> '[]'") == 0

        await services.redis.flushdb()
        await generate_embeddings(services, Progress.detached())
        assert ("generate-recommendations", {"publish": True}) in await _queued(services)
        await generate_recommendations(services, Progress.detached(), publish=True)
        refined = (
            "SELECT count(*) FROM recommendation r WHERE r.evidence <> '[]' AND r.run_id IN"
            " (SELECT max(id) FROM recommendation_run WHERE media_type = 'movies' GROUP BY user_id)"
        )
        assert await _count(services, refined) > 0  # the newest lists cite watched titles: vectors now count


def test_a_title_without_a_vector_keeps_a_neutral_content_match() -> None:
    """While embeddings arrive, an unembedded title is neither pulled in nor pushed out by the content term:
    it scores as if its content match were the candidates' average."""
    rng = np.random.default_rng(3)
    items = [ItemFacts(f"i{k}", f"Title {k}", year=2000, genres=("Drama",), community_rating=7.0) for k in range(40)]
    vectors = rng.normal(size=(40, 8)).astype(np.float32)
    vectors[20:] = 0.0  # half the catalogue is not embedded yet
    history = [WatchEvent(f"i{k}", last_played=1_700_000_000.0 + k) for k in range(5)]
    model = prepare_model(items, vectors, {"u": history})
    picks = recommend(model, history, count=35)
    taste = {p.item_id: p.breakdown.taste for p in picks}
    unembedded = [t for i, t in taste.items() if int(i[1:]) >= 20]
    assert unembedded and all(t == unembedded[0] for t in unembedded)  # identical facts: identical scores
    assert unembedded[0] == 0.5  # the candidates' average content match, era identical for all


async def test_one_refresh_and_publish_waits_per_media_type_and_one_more_behind_a_running_one(
    services: Services,
) -> None:
    movies = [MediaType.MOVIES]
    await queue_recommend_and_publish(services, movies)
    await queue_recommend_and_publish(services, movies)  # rides along with the one waiting
    waiting = await services.redis.queued_jobs(queue_name=QUEUE_NAME)
    assert [(j.function, j.job_id) for j in waiting] == [
        ("generate-recommendations", "generate-recommendations:publish")
    ]

    # the worker takes it: off the queue, in progress (what arq does when a job starts)
    await services.redis.zrem(QUEUE_NAME, "generate-recommendations:publish")
    await services.redis.set(in_progress_key_prefix + "generate-recommendations:publish", b"1")
    await queue_recommend_and_publish(services, movies)  # the running one may have read the catalogue already
    await queue_recommend_and_publish(services, movies)
    waiting = await services.redis.queued_jobs(queue_name=QUEUE_NAME)
    assert [j.job_id for j in waiting] == ["generate-recommendations:publish-next"]
