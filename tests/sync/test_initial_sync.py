"""Initial sync against the simulator: the database equals the simulator's catalogue and user data."""

from __future__ import annotations

from sqlalchemy import text

from sidecar.jobs.progress import Progress
from sidecar.jobs.sync_jobs import initial_sync_job, sync_watch_history_job
from tests.sync.conftest import SimEnv, same_state


async def _items(env: SimEnv) -> dict[str, dict[str, object]]:
    async with env.services.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT i.provider_id, i.kind, i.name, i.year, i.genres, i.people, i.provider_ids, i.path,"
                " i.runtime_ticks, i.season_number, i.episode_number, i.date_added, i.gone_at,"
                " p.provider_id AS parent, s.provider_id AS series, l.provider_id AS library"
                " FROM item i LEFT JOIN item p ON p.id = i.parent_id LEFT JOIN item s ON s.id = i.series_id"
                " LEFT JOIN library l ON l.id = i.library_id"
            )
        )
        return {r.provider_id: dict(r._mapping) for r in rows}


async def test_initial_sync_equals_the_simulator(sim_env: SimEnv) -> None:
    sim = sim_env.sim
    result = await initial_sync_job(sim_env.services, Progress.detached())
    assert result["users"]["users"] == 3

    items = await _items(sim_env)
    expected = {
        i.id: i
        for i in sim.items.values()
        if i.type in ("Movie", "Series", "Season", "Episode")
        and i.library_id in (sim.movies_library.id, sim.shows_library.id)
    }
    assert set(items) == set(expected)
    for item_id, sim_item in expected.items():
        row = items[item_id]
        assert row["kind"] == sim_item.type and row["name"] == sim_item.name and row["gone_at"] is None
        assert row["year"] == sim_item.year and row["genres"] == sim_item.genres
        assert row["provider_ids"] == sim_item.provider_ids and row["path"] == sim_item.path
        assert row["runtime_ticks"] == sim_item.runtime_ticks
        assert row["people"] == [{"name": p.name, "role": p.role, "type": p.type} for p in sim_item.people]
        assert abs((row["date_added"] - sim_item.date_created).total_seconds()) < 0.001  # type: ignore[operator]
        if sim_item.type == "Season":
            assert row["parent"] == row["series"] == sim_item.series_id
            assert row["season_number"] == sim_item.index_number
        if sim_item.type == "Episode":
            assert row["parent"] == sim_item.season_id and row["series"] == sim_item.series_id
            assert (row["season_number"], row["episode_number"]) == (
                sim_item.parent_index_number,
                sim_item.index_number,
            )
        library = sim.movies_library if sim_item.type == "Movie" else sim.shows_library
        assert row["library"] == library.id

    truth = sim_env.sim_truth()
    assert truth, "the simulator seeded a history"
    rows = await sim_env.watch_rows()
    plain = {k: v for k, v in rows.items() if v["kind"] != "Series"}
    assert set(plain) == set(truth)
    wrong = [k for k in truth if not same_state(plain[k], truth[k])]
    assert wrong == []

    # series rows are rolled up from the episodes
    for (user_id, item_id), row in rows.items():
        if row["kind"] != "Series":
            continue
        watched, total = sim.folder_counts(user_id, sim.item(item_id))
        assert row["played"] == (watched == total)
        assert abs(row["completion"] - watched / total) < 1e-9


async def test_delta_picks_up_changes_and_unmarking(sim_env: SimEnv) -> None:
    sim = sim_env.sim
    await initial_sync_job(sim_env.services, Progress.detached())
    alice = sim_env.user_id("alice")
    watched = next(k[1] for k, v in sim_env.sim_truth().items() if k[0] == alice and v["played"])
    fresh = next(i.id for i in sim.items.values() if i.type == "Movie" and (alice, i.id) not in sim_env.sim_truth())
    sim.mark_played("alice", watched, played=False, notify=False)
    sim.set_favorite("alice", fresh, True, notify=False)
    sim.play("bob", fresh, fraction=0.5)
    result = await sync_watch_history_job(sim_env.services, Progress.detached())
    assert result["users"] == 3
    rows = await sim_env.watch_rows()
    truth = sim_env.sim_truth()
    plain = {k: v for k, v in rows.items() if v["kind"] != "Series"}
    assert set(plain) == set(truth)
    assert all(same_state(plain[k], truth[k]) for k in truth)
    assert rows[(alice, fresh)]["is_favorite"] is True
    assert rows[(sim_env.user_id("bob"), fresh)]["position_ticks"] > 0


async def test_removed_items_are_marked_gone_and_leave_recommendations(sim_env: SimEnv) -> None:
    sim = sim_env.sim
    await initial_sync_job(sim_env.services, Progress.detached())
    movie = next(i for i in sim.items.values() if i.type == "Movie")
    series = next(i for i in sim.items.values() if i.type == "Series")
    async with sim_env.services.engine.begin() as conn:
        user_id = (await conn.execute(text("SELECT id FROM app_user WHERE name = 'alice'"))).scalar_one()
        run_id = (
            await conn.execute(
                text(
                    "INSERT INTO recommendation_run (user_id, media_type, trigger, status, params, candidate_count)"
                    " VALUES (:u, 'movies', 'job', 'done', '{}', 1) RETURNING id"
                ),
                {"u": user_id},
            )
        ).scalar_one()
        await conn.execute(
            text(
                "INSERT INTO recommendation (run_id, user_id, media_type, item_id, rank, score, match_pct)"
                " SELECT :r, :u, 'movies', id, 1, 0.9, 90 FROM item WHERE provider_id = :p"
            ),
            {"r": run_id, "u": user_id, "p": movie.id},
        )
    sim.remove_item(movie.id)
    sim.remove_item(series.id)
    await initial_sync_job(sim_env.services, Progress.detached())
    async with sim_env.services.engine.connect() as conn:
        gone = {r[0] for r in await conn.execute(text("SELECT provider_id FROM item WHERE gone_at IS NOT NULL"))}
        recs = (await conn.execute(text("SELECT count(*) FROM recommendation"))).scalar_one()
    episodes = {i for i in sim_env.sim.items} & gone
    assert movie.id in gone and series.id in gone
    assert not episodes, "only removed items are gone"
    assert recs == 0
