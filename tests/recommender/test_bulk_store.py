"""The all-users job reads and writes a chunk of users' lists in a few statements: each user must still get their
own runs, picks and previous texts, exactly as the one-user path stores and reads them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from benchmarks.bench_db_refresh import MODEL, build_server
from sidecar.jobs.progress import Progress
from sidecar.media_types import MediaType
from sidecar.picks_store import refresh_all
from sidecar.picks_store.explain import previous_explanations_many
from sidecar.picks_store.runs import KEEP_RUNS, RunRecord, store_runs
from sidecar.recommender import Evidence, Pick, ScoreBreakdown
from sidecar.services import Services


class _ModelName:
    name = MODEL


async def test_a_chunk_of_runs_is_stored_and_read_back_per_user(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_server(services.database_url.replace("postgresql+psycopg://", "postgresql://", 1), 600, 9, 16, seed=4)
    services.embedder = _ModelName()  # type: ignore[assignment]  # only its name is read
    monkeypatch.setattr(refresh_all, "BATCH_CHUNK", 4)  # chunks of 4, 4 and 1 users
    for _ in range(KEEP_RUNS + 1):  # older runs pruned down to KEEP_RUNS per user
        summary = await refresh_all.refresh_all_picks(services, MediaType.MOVIES, Progress.detached())
        assert (summary["users"], summary["failed"]) == (9, 0)

    async with services.engine.begin() as conn:
        runs = (await conn.execute(text("SELECT user_id, count(*) FROM recommendation_run GROUP BY user_id"))).all()
        assert sorted(runs) == [(u, KEEP_RUNS) for u in range(1, 10)]
        newest = dict(
            (await conn.execute(text("SELECT user_id, max(id) FROM recommendation_run GROUP BY user_id"))).all()
        )
        stored: dict[int, set[tuple[int, tuple[int, ...]]]] = {}
        for user_id, run_id in newest.items():
            rows = await conn.execute(
                text("SELECT user_id, item_id, evidence FROM recommendation WHERE run_id = :r"), {"r": run_id}
            )
            for owner, item_id, evidence in rows:
                assert owner == user_id  # every pick names the run's user
                stored.setdefault(user_id, set()).add((item_id, tuple(e["item_id"] for e in evidence)))
        previous = await previous_explanations_many(conn, [3, 1, 7, 42], MediaType.MOVIES)
        assert previous[42] == {}  # no list yet
        for user_id in (1, 3, 7):
            assert set(previous[user_id]) == stored[user_id]
            assert all(source == "template" for _, source in previous[user_id].values())

        # a failed run is stored beside the others, without picks, and prunes nothing
        started = datetime.now(UTC)
        failed = RunRecord(2, MediaType.MOVIES, "job", MODEL, {}, 0, [], [], started, error="boom")
        [run_id] = await store_runs(conn, [failed])
        status = (
            await conn.execute(text("SELECT status, error FROM recommendation_run WHERE id = :r"), {"r": run_id})
        ).one()
        assert tuple(status) == ("failed", "boom")
        count = (await conn.execute(text("SELECT count(*) FROM recommendation_run WHERE user_id = 2"))).scalar()
        assert count == KEEP_RUNS + 1


async def test_every_field_of_a_pick_is_stored_as_the_pages_read_it(services: Services) -> None:
    """Picks travel to the database as flat arrays; each must arrive as the columns and JSON objects the pages and
    the API read: components with co-watch only when it has one, genres, evidence in order, texts or NULL."""
    build_server(services.database_url.replace("postgresql+psycopg://", "postgresql://", 1), 600, 9, 16, seed=4)
    evidence = (Evidence("3", 'A "quoted" title', 0.8123), Evidence("1", "Ünïcode ✓", 0.5))
    with_cowatch = Pick(
        "7", "Seven", 1, 83, ScoreBreakdown(0.9, 0.75, 0.4, 0.66, 1.0, 0.97), ("Drama",), ("Western", "War"), evidence
    )
    without = Pick("9", "Nine", 2, 61, ScoreBreakdown(0.5, None, 0.5, 0.5, 0.25, 0.6), (), ("Drama",), ())
    run = RunRecord(
        1, MediaType.MOVIES, "job", MODEL, {"count": 2}, 40, [with_cowatch, without],
        [("Because you watched Seven…", "llm"), None], datetime.now(UTC),
    )  # fmt: skip
    async with services.engine.begin() as conn:
        [run_id] = await store_runs(conn, [run])
        rows = (
            await conn.execute(
                text(
                    "SELECT item_id, user_id, media_type, rank, score, match_pct, components, genre_analysis,"
                    " evidence, explanation, explanation_source FROM recommendation WHERE run_id = :r ORDER BY rank"
                ),
                {"r": run_id},
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        (
            7, 1, "movies", 1, 0.97, 83,
            {"taste": 0.9, "cowatch": 0.75, "discovery": 0.4, "quality": 0.66, "variety": 1.0},
            {"matching": ["Drama"], "new": ["Western", "War"]},
            [{"item_id": 3, "title": 'A "quoted" title', "similarity": 0.8123},
             {"item_id": 1, "title": "Ünïcode ✓", "similarity": 0.5}],
            "Because you watched Seven…", "llm",
        ),
        (
            9, 1, "movies", 2, 0.6, 61,
            {"taste": 0.5, "discovery": 0.5, "quality": 0.5, "variety": 0.25},
            {"matching": [], "new": ["Drama"]},
            [], None, None,
        ),
    ]  # fmt: skip
