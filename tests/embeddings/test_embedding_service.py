"""The embedding service against the real database: what gets embedded, what is skipped, what fails."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from providers.ai.errors import AIRateLimited
from providers.ai.tokens import cl100k_base
from sidecar.embeddings import BackoffPolicy, embed_items, embedding_status
from sidecar.jobs.progress import Progress
from sidecar.jobs.registry import load_jobs
from sidecar.services import Services
from sidecar.vector_index import hnsw_index_name
from tests.embeddings.doubles import HashingEmbedder
from tests.recommendations.catalogue import MOVIES, SERIES, Seeded, seed_catalogue

LIVE_MOVIES = len(MOVIES) + 1  # plus the 4K copy; the gone one and the disabled library's one are out


async def _rows(engine: AsyncEngine, model: str) -> dict[int, dict[str, Any]]:
    async with engine.connect() as conn:
        result = await conn.execute(
            text(
                "SELECT item_id, dim, text_hash, error, attempts, embedding IS NOT NULL AS has_vector"
                " FROM item_embedding WHERE model = :m"
            ),
            {"m": model},
        )
        return {r.item_id: dict(r._mapping) for r in result}


async def _indexes(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        result = await conn.execute(text("SELECT indexname FROM pg_indexes WHERE tablename = 'item_embedding'"))
        return {r[0] for r in result}


@pytest.fixture
async def seeded(services: Services) -> Seeded:
    return await seed_catalogue(services.engine)


async def test_embeds_eligible_movies_then_nothing_when_unchanged(services: Services, seeded: Seeded) -> None:
    embedder = HashingEmbedder(32)
    report = await embed_items(services, embedder, "movies", Progress.detached())
    assert report.embedded == LIVE_MOVIES and report.failed == 0
    assert report.dimension == 32
    rows = await _rows(services.engine, embedder.name)
    assert set(rows) == {seeded.items[t] for t, _, _, _, _ in MOVIES} | {seeded.items["Star Voyage (4K)"]}
    assert seeded.items["Lost Star"] not in rows and seeded.items["Hidden Galaxy"] not in rows
    assert all(r["dim"] == 32 and r["has_vector"] and r["error"] is None for r in rows.values())
    assert hnsw_index_name(embedder.name, 32) in await _indexes(services.engine)

    embedder.texts_seen.clear()
    again = await embed_items(services, embedder, "movies", Progress.detached())
    assert again.embedded == 0 and again.up_to_date == LIVE_MOVIES
    assert embedder.texts_seen == []

    async with services.engine.begin() as conn:
        await conn.execute(
            text("UPDATE item SET overview = 'A new cut about pirates.' WHERE id = :i"),
            {"i": seeded.items["Mars Colony"]},
        )
    changed = await embed_items(services, embedder, "movies", Progress.detached())
    assert changed.embedded == 1
    assert len(embedder.texts_seen) == 1 and "pirates" in embedder.texts_seen[0]


async def test_series_are_embedded_from_series_metadata_only(services: Services, seeded: Seeded) -> None:
    embedder = HashingEmbedder(32)
    report = await embed_items(services, embedder, "series", Progress.detached())
    assert report.embedded == len(SERIES)
    rows = await _rows(services.engine, embedder.name)
    assert set(rows) == {seeded.items[t] for t, *_ in SERIES}
    assert all("TV series" in t for t in embedder.texts_seen)


async def test_model_switch_reembeds_with_a_new_dimension(services: Services, seeded: Seeded) -> None:
    small, large = HashingEmbedder(16, name="test:small"), HashingEmbedder(48, name="test:large")
    await embed_items(services, small, "movies", Progress.detached())
    report = await embed_items(services, large, "movies", Progress.detached())
    assert report.embedded == LIVE_MOVIES and report.dimension == 48
    assert {r["dim"] for r in (await _rows(services.engine, "test:small")).values()} == {16}
    assert {r["dim"] for r in (await _rows(services.engine, "test:large")).values()} == {48}
    indexes = await _indexes(services.engine)
    assert {hnsw_index_name("test:small", 16), hnsw_index_name("test:large", 48)} <= indexes
    # the old model's vectors stay usable: a cosine query through its own index expression works
    async with services.engine.connect() as conn:
        near = await conn.execute(
            text(
                "SELECT item_id FROM item_embedding WHERE model = 'test:small' AND dim = 16"
                " ORDER BY embedding::vector(16) <=> (SELECT embedding::vector(16) FROM item_embedding"
                "   WHERE model = 'test:small' AND item_id = :i) LIMIT 2"
            ),
            {"i": seeded.items["Star Voyage"]},
        )
        assert seeded.items["Star Voyage"] in {r[0] for r in near}


async def test_a_failing_item_is_recorded_and_skipped_until_its_text_changes(
    services: Services, seeded: Seeded
) -> None:
    bad = seeded.items["Ritual Night"]
    async with services.engine.begin() as conn:
        await conn.execute(text("UPDATE item SET overview = 'POISON overview' WHERE id = :i"), {"i": bad})
    embedder = HashingEmbedder(32, poison="POISON")
    progress = Progress.detached()
    report = await embed_items(services, embedder, "movies", progress, chunk_size=8)
    assert report.failed == 1 and report.embedded == LIVE_MOVIES - 1
    rows = await _rows(services.engine, embedder.name)
    assert rows[bad]["error"] and not rows[bad]["has_vector"] and rows[bad]["attempts"] == 1
    assert any(f"item {bad} failed" in line for line in progress.lines)

    calls = embedder.calls
    again = await embed_items(services, embedder, "movies", Progress.detached())
    assert again.skipped_failed == 1 and again.embedded == 0 and again.failed == 0
    assert embedder.calls == calls  # no endless retry

    retried = await embed_items(services, embedder, "movies", Progress.detached(), retry_failed=True)
    assert retried.failed == 1
    assert (await _rows(services.engine, embedder.name))[bad]["attempts"] == 2

    async with services.engine.begin() as conn:
        await conn.execute(text("UPDATE item SET overview = 'A cult in the woods.' WHERE id = :i"), {"i": bad})
    fixed = await embed_items(services, embedder, "movies", Progress.detached())
    assert fixed.embedded == 1 and fixed.failed == 0
    row = (await _rows(services.engine, embedder.name))[bad]
    assert row["has_vector"] and row["error"] is None and row["attempts"] == 0
    status = await embedding_status(services, embedder.name)
    assert status["movies"] == {"items": LIVE_MOVIES, "embedded": LIVE_MOVIES, "failed": 0}


async def test_rate_limits_are_waited_out_with_backoff(services: Services, seeded: Seeded) -> None:
    embedder = HashingEmbedder(32, rate_limited_calls=2)
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    report = await embed_items(
        services, embedder, "movies", Progress.detached(), backoff=BackoffPolicy(retries=3), sleep=sleep
    )
    assert report.embedded == LIVE_MOVIES
    assert waits == [0.25, 0.25]  # the endpoint's Retry-After

    stubborn = HashingEmbedder(32, name="test:stubborn", rate_limited_calls=10)
    with pytest.raises(AIRateLimited):
        await embed_items(
            services, stubborn, "movies", Progress.detached(), backoff=BackoffPolicy(retries=2), sleep=sleep
        )


async def test_paid_models_get_a_cost_estimate(services: Services, seeded: Seeded) -> None:
    embedder = HashingEmbedder(8)
    report = await embed_items(
        services, embedder, "movies", Progress.detached(), pricing_model="text-embedding-3-large"
    )
    assert len(embedder.texts_seen) == LIVE_MOVIES
    # the model's own tokenizer, over exactly the texts sent
    assert report.estimated_tokens == sum(len(cl100k_base().encode_ordinary(t)) for t in embedder.texts_seen)
    assert report.estimated_cost_usd == pytest.approx(report.estimated_tokens * 0.13 / 1_000_000)
    free_embedder = HashingEmbedder(8, name="test:free")
    free = await embed_items(services, free_embedder, "movies", Progress.detached())
    assert free.estimated_cost_usd is None
    # a free model is not tokenized: about four characters a token
    assert free.estimated_tokens == sum((len(t) + 3) // 4 for t in free_embedder.texts_seen)


async def test_jobs_use_the_process_embedder(services: Services, seeded: Seeded) -> None:
    embedder = HashingEmbedder(24)
    services.embedder = embedder
    jobs = load_jobs()
    movies = await jobs["generate-embeddings"].func(services, Progress.detached(), then_recommend=False)
    series = await jobs["generate-series-embeddings"].func(services, Progress.detached(), then_recommend=False)
    assert movies is not None and series is not None
    assert movies["embedded"] == LIVE_MOVIES and movies["model"] == embedder.name
    assert series["embedded"] == len(SERIES)
