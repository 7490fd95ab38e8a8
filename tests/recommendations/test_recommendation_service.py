"""Stored picks from the real database: exclusions, evidence, series roll-up, incremental refresh."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from sqlalchemy import text

from providers.ai.writing import PickFacts, TasteFacts, TemplateWriter
from sidecar import runtime_settings as rs
from sidecar.embeddings import embed_items
from sidecar.followup import FOLLOW_UP_STAGES
from sidecar.jobs.progress import Progress
from sidecar.jobs.recommend_jobs import refresh_after_watch
from sidecar.jobs.registry import load_jobs
from sidecar.picks_store.inputs import snapshot_cache, snapshot_for
from sidecar.picks_store.refresh import refresh_user_picks
from sidecar.picks_store.runs import KEEP_RUNS
from sidecar.picks_store.similar import similar_items
from sidecar.picks_store.taste import regenerate_taste_profile
from sidecar.recommender import prepare_model
from sidecar.services import Services
from sidecar.vector_index import hnsw_index_name
from tests.recommendations.catalogue import SPACE, watch
from tests.recommendations.conftest import World

SPACE_MOVIES = {"Star Voyage", "Galaxy Siege", "Orbit Station", "Nebula Drift", "Mars Colony", "Alien Harbor"}


async def current(services: Services, user_id: int, media_type: str) -> list[dict[str, Any]]:
    async with services.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT r.*, i.name AS title, run.trigger, run.params FROM recommendation r"
                " JOIN item i ON i.id = r.item_id JOIN recommendation_run run ON run.id = r.run_id"
                " WHERE r.run_id = (SELECT id FROM recommendation_run WHERE user_id = :u AND media_type = :m"
                "   AND status = 'done' ORDER BY finished_at DESC, id DESC LIMIT 1) ORDER BY r.rank"
            ),
            {"u": user_id, "m": media_type},
        )
        return [dict(r._mapping) for r in rows]


async def run_job(name: str, services: Services, **kwargs: Any) -> dict[str, Any]:
    result = await load_jobs()[name].func(services, Progress.detached(), **kwargs)
    assert result is not None
    return result


async def test_movie_picks_exclude_watched_and_cite_the_right_titles(world: World) -> None:
    s, services = world.seeded, world.services
    summary = await run_job("generate-recommendations", services)
    assert summary["users"] == 3 and summary["failed"] == 0

    picks = await current(services, s.users["alice"], "movies")
    titles = [p["title"] for p in picks]
    never = {"Star Voyage", "Galaxy Siege", "Orbit Station", "Star Voyage (4K)", "Alien Harbor", "Lost Star"}
    assert not never & set(titles), "watched, in-progress, duplicate or gone titles were picked"
    assert "Hidden Galaxy" not in titles  # its library is disabled
    assert titles[0] in SPACE_MOVIES and "Mars Colony" in titles

    top = picks[0]
    assert {e["title"] for e in top["evidence"]} <= {"Star Voyage", "Galaxy Siege", "Orbit Station"}
    assert {e["item_id"] for e in top["evidence"]} <= {
        s.items[t] for t in ("Star Voyage", "Galaxy Siege", "Orbit Station")
    }
    assert top["evidence"][0]["similarity"] > 0.5
    assert "Science Fiction" in top["genre_analysis"]["matching"]
    assert set(top["components"]) >= {"taste", "discovery", "quality", "variety"}
    assert 1 <= top["match_pct"] <= 99
    assert top["explanation"] and "Because you watched" in top["explanation"]
    assert top["explanation_source"] == "template"
    assert top["params"]["weights"]["similarity"] == 0.5 and top["params"]["count"] == 50

    bob = [p["title"] for p in await current(services, s.users["bob"], "movies")]
    assert bob[0] == "Coffee Date" and not {"Paris Love", "Wedding Season", "Summer Kiss"} & set(bob)


async def test_series_roll_up_and_started_series_are_not_picked(world: World) -> None:
    s, services = world.seeded, world.services
    await run_job("generate-series-recommendations", services)
    picks = await current(services, s.users["alice"], "series")
    titles = [p["title"] for p in picks]
    assert "Deep Space Crew" not in titles  # finished
    assert "Space Patrol" not in titles  # being watched
    assert titles[0] == "Galactic Rangers"
    assert [e["title"] for e in picks[0]["evidence"]] == ["Deep Space Crew"]
    bob = [p["title"] for p in await current(services, s.users["bob"], "series")]
    assert "Love Diaries" not in bob


async def test_taste_profiles_are_written_and_a_locked_one_is_kept(world: World) -> None:
    s, services = world.seeded, world.services
    await run_job("generate-recommendations", services)
    async with services.engine.begin() as conn:
        row = (
            await conn.execute(
                text("SELECT text, source, facts FROM taste_profile WHERE user_id = :u AND media_type = 'movies'"),
                {"u": s.users["alice"]},
            )
        ).one()
        assert "Science Fiction" in row.text and row.source == "template"
        assert row.facts["top_genres"][0] == "Science Fiction"
        await conn.execute(
            text("UPDATE taste_profile SET text = 'my own words', locked = true WHERE user_id = :u"),
            {"u": s.users["alice"]},
        )
    assert await regenerate_taste_profile(services, s.users["alice"], "movies") is None
    await watch(services.engine, s.users["alice"], s.items["Dust Riders"], days_ago=0.1)
    await refresh_user_picks(services, s.users["alice"], "movies")
    async with services.engine.connect() as conn:
        kept = (
            await conn.execute(
                text("SELECT text FROM taste_profile WHERE user_id = :u AND media_type = 'movies'"),
                {"u": s.users["alice"]},
            )
        ).scalar_one()
    assert kept == "my own words"


async def test_followup_refreshes_one_user_from_the_cached_catalogue(world: World) -> None:
    s, services = world.seeded, world.services
    alice = s.users["alice"]
    await run_job("generate-recommendations", services)
    before = await snapshot_for(services, "movies")

    await watch(services.engine, alice, s.items["Nebula Drift"], days_ago=0.1)
    assert dict(FOLLOW_UP_STAGES)["recommend"] is refresh_after_watch
    await refresh_after_watch(services, alice, frozenset({"movies"}), Progress.detached())
    picks = await current(services, alice, "movies")
    assert picks[0]["trigger"] == "webhook"
    assert "Nebula Drift" not in {p["title"] for p in picks}
    after = await snapshot_for(services, "movies")
    assert after is before, "one user's refresh must not rebuild the catalogue model"
    # Nebula Drift now also explains other picks
    assert any(e["title"] == "Nebula Drift" for p in picks for e in p["evidence"])


async def test_catalogue_changes_are_read_incrementally(world: World) -> None:
    s, services = world.seeded, world.services
    cache = snapshot_cache(services)
    await snapshot_for(services, "movies")
    async with services.engine.begin() as conn:
        new_id = (
            await conn.execute(
                text(
                    "INSERT INTO item (server_id, provider_id, kind, library_id, name, year, genres, tags, studios,"
                    " people, provider_ids, image_tags, overview)"
                    " VALUES (:srv, 'm-new', 'Movie', :lib, 'Comet Hunters', 2020, '[\"Science Fiction\"]', '[]',"
                    " '[]', '[]', '{}', '{}', :ov) RETURNING id"
                ),
                {"srv": s.server_id, "lib": s.libraries["Movies"], "ov": f"Comet Hunters: {SPACE}."},
            )
        ).scalar_one()
        await conn.execute(text("UPDATE item SET gone_at = now() WHERE id = :i"), {"i": s.items["Mars Colony"]})
    await embed_items(services, world.embedder, "movies", Progress.detached())
    snap = await snapshot_for(services, "movies")
    stats = cache.stats(world.embedder.name, "movies")
    assert stats["changed_rows"] == 2  # the new item and the gone one, nothing else re-read
    assert str(new_id) in snap.model.index and str(s.items["Mars Colony"]) not in snap.model.index

    await refresh_user_picks(services, s.users["alice"], "movies")
    titles = [p["title"] for p in await current(services, s.users["alice"], "movies")]
    assert "Comet Hunters" in titles and "Mars Colony" not in titles


async def test_new_plays_rebuild_only_the_play_derived_model(world: World) -> None:
    """A history change (no catalogue change) keeps the catalogue's arrays and rebuilds viewers, ratings and
    co-watch: the same model a build from scratch gives."""
    s, services = world.seeded, world.services
    before = await snapshot_for(services, "movies", fresh_histories=True)
    await watch(services.engine, s.users["bob"], s.items["Nebula Drift"], days_ago=0.1)
    after = await snapshot_for(services, "movies", fresh_histories=True)
    assert after.model is not None and before.model is not None and after.model is not before.model
    assert after.model.vectors is before.model.vectors, "the catalogue part must be kept"
    nebula = after.model.index[str(s.items["Nebula Drift"])]
    assert after.model.viewers[nebula] == before.model.viewers[nebula] + 1

    scratch = prepare_model(after.model.items, after.model.vectors, after.histories)
    for name in ("viewers", "quality", "duplicate_group", "genre_matrix", "year_of"):
        assert np.array_equal(getattr(after.model, name), getattr(scratch, name)), name
    assert (after.model.cowatch is None) == (scratch.cowatch is None)
    if scratch.cowatch is not None and after.model.cowatch is not None:
        assert np.array_equal(after.model.cowatch.vocabulary, scratch.cowatch.vocabulary)
        assert np.allclose(after.model.cowatch.weights, scratch.cowatch.weights)


async def test_runtime_settings_shape_the_list_and_old_runs_are_pruned(world: World) -> None:
    s, services = world.seeded, world.services
    async with services.sessions() as session:
        value = rs.RecommendationSettings(count=3)
        value.weights.novelty = 0.0
        await rs.save(session, rs.recommendation_key("movies"), value)
    for _ in range(KEEP_RUNS + 2):
        await refresh_user_picks(services, s.users["alice"], "movies")
    picks = await current(services, s.users["alice"], "movies")
    assert len(picks) == 3 and picks[0]["params"]["count"] == 3
    assert picks[0]["params"]["weights"]["novelty"] == 0.0
    async with services.engine.connect() as conn:
        runs = (
            await conn.execute(
                text("SELECT count(*) FROM recommendation_run WHERE user_id = :u"), {"u": s.users["alice"]}
            )
        ).scalar_one()
    assert runs == KEEP_RUNS


async def test_disabled_users_are_skipped_and_rebuild_clears_everything(world: World) -> None:
    s, services = world.seeded, world.services
    await run_job("generate-recommendations", services)
    await run_job("generate-recommendations", services)
    async with services.engine.begin() as conn:
        await conn.execute(text("UPDATE app_user SET movies_enabled = false WHERE id = :u"), {"u": s.users["bob"]})
    result = await run_job("rebuild-recommendations", services, media_types=["movies"])
    assert result["movies"]["users"] == 2 and result["movies"]["cleared_runs"] == 6
    async with services.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT user_id, trigger FROM recommendation_run ORDER BY user_id"))).all()
    assert [(r.user_id, r.trigger) for r in rows] == [
        (s.users["alice"], "rebuild"),
        (s.users["carol"], "rebuild"),
    ]


async def test_similar_items_through_the_hnsw_index(world: World) -> None:
    s, services = world.seeded, world.services
    similar = await similar_items(services, s.items["Star Voyage"], limit=5)
    titles = [x.title for x in similar]
    assert set(titles) <= SPACE_MOVIES - {"Star Voyage"}
    assert len(titles) == 5 and "Star Voyage (4K)" not in titles  # its own copy is left out
    assert all(a.similarity >= b.similarity for a, b in itertools.pairwise(similar))
    async with services.engine.begin() as conn:
        # On a table this small a sort is the cheaper plan; run alone (no earlier test's rows) the planner took
        # it. With sorting off, only an index whose expression and predicate match the query can order it.
        await conn.execute(text("SET LOCAL enable_seqscan = off"))
        await conn.execute(text("SET LOCAL enable_sort = off"))
        dim = 64
        plan = "\n".join(
            r[0]
            for r in await conn.execute(
                text(
                    f"EXPLAIN SELECT item_id FROM item_embedding e WHERE e.model = '{world.embedder.name}'"
                    f" AND e.dim = {dim} ORDER BY e.embedding::vector({dim}) <=> (SELECT embedding::vector({dim})"
                    f" FROM item_embedding WHERE item_id = 1 AND model = '{world.embedder.name}') LIMIT 5"
                )
            )
        )
    assert hnsw_index_name(world.embedder.name, dim) in plan
    assert await similar_items(services, s.items["Lost Star"]) == []  # no vector: it left before embedding


class _FailingForRomance:
    """A writer (treated like a chat model) that fails for bob's romance picks."""

    name = "failing"

    async def taste_profile(self, facts: TasteFacts) -> str:
        return TemplateWriter().taste_profile_sync(facts)

    async def why_picked(self, facts: PickFacts) -> str:
        if "Romance" in facts.genres and any(t == "Paris Love" for t, _ in facts.evidence):
            raise RuntimeError("writer broke")
        return TemplateWriter().why_picked_sync(facts)


async def test_one_users_failure_is_recorded_and_the_others_still_get_lists(world: World) -> None:
    s, services = world.seeded, world.services
    services.text_generator = _FailingForRomance()
    summary = await run_job("generate-recommendations", services)
    assert summary["failed"] >= 1
    async with services.engine.connect() as conn:
        runs = {
            r.user_id: (r.status, r.error)
            for r in await conn.execute(text("SELECT user_id, status, error FROM recommendation_run"))
        }
    assert runs[s.users["bob"]] == ("failed", "writer broke")
    assert runs[s.users["alice"]][0] == "done"
