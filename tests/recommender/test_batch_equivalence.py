"""The batched path (every user's list at once: ``recommend_many``, and ``refresh_all_picks`` through the database)
gives each user exactly what ``recommend`` gives them alone: the same titles, ranks, match % and evidence."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from benchmarks.bench_db_refresh import MODEL, build_server
from benchmarks.bench_recommend_server import synthetic_server
from sidecar.jobs.progress import Progress
from sidecar.media_types import MediaType
from sidecar.picks_store import refresh_all
from sidecar.picks_store.config import load_config
from sidecar.picks_store.inputs import snapshot_for
from sidecar.picks_store.match_calibration import match_calibration
from sidecar.recommender import Pick, Weights, prepare_model, recommend, recommend_many
from sidecar.recommender.match import MatchCalibration, MatchScale
from sidecar.recommender.scoring import score_candidates
from sidecar.recommender.shortlist import rank as _rank
from sidecar.services import Services


def _listed(picks: list[Pick]) -> list[tuple[str, int, int, tuple[str, ...]]]:
    return [(p.item_id, p.rank, p.match_percent, tuple(e.item_id for e in p.evidence)) for p in picks]


def test_recommend_many_gives_every_user_what_recommend_gives_them_alone() -> None:
    items, vectors, histories = synthetic_server(n_items=2_000, n_users=90, dim=32, seed=5)
    histories["new user"] = []
    model = prepare_model(items, vectors, histories)
    batched = dict(recommend_many(model, histories, count=30, batch_users=64))  # two batches, one of them partial
    assert sorted(batched) == sorted(histories)
    for user, history in histories.items():
        alone = recommend(model, history, count=30)
        assert _listed(batched[user]) == _listed(alone), user
        for a, b in zip(batched[user], alone, strict=True):  # scores agree up to float rounding
            assert a.breakdown.final == pytest.approx(b.breakdown.final, abs=2e-4)
            assert a.breakdown.variety == pytest.approx(b.breakdown.variety, abs=2e-4)


class _ModelName:
    name = MODEL


async def test_every_stored_list_of_the_all_users_job_is_the_one_user_list(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_server(services.database_url.replace("postgresql+psycopg://", "postgresql://", 1), 1_500, 70, 16, seed=3)
    services.embedder = _ModelName()  # type: ignore[assignment]  # only its name is read
    monkeypatch.setattr(refresh_all, "BATCH_CHUNK", 16)  # several chunks, each stored in its own transaction
    summary = await refresh_all.refresh_all_picks(services, MediaType.MOVIES, Progress.detached())
    assert (summary["users"], summary["failed"]) == (70, 0)

    snapshot = await snapshot_for(services, MediaType.MOVIES)
    config = await load_config(services, MediaType.MOVIES)
    calibration = await match_calibration(services, snapshot, config)
    assert snapshot.model is not None
    async with services.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT r.user_id, r.item_id, r.rank, r.match_pct FROM recommendation r"
                " WHERE r.run_id IN (SELECT max(id) FROM recommendation_run WHERE status = 'done' GROUP BY user_id)"
                " ORDER BY r.user_id, r.rank"
            )
        )
        stored: dict[int, list[tuple[int, int, int]]] = {}
        for user_id, item_id, rank, match_pct in rows:
            stored.setdefault(int(user_id), []).append((int(item_id), int(rank), int(match_pct)))
    assert len(stored) == 70
    for user_id, listed in stored.items():
        alone = recommend(
            snapshot.model,
            snapshot.histories.get(str(user_id), []),
            weights=config.weights,
            count=config.count,
            recent_limit=config.recent_limit,
            media_type="movie",
            match=calibration,
        )
        assert listed == [(int(p.item_id), p.rank, p.match_percent) for p in alone], user_id


def test_the_match_scale_from_the_shortlist_places_picks_as_the_scale_of_every_candidate() -> None:
    """`_rank` keeps only the shortlist's scores (the rest as -inf) instead of sorting every candidate: for any
    score a pick can have, the match % must be the one the full scale gives."""
    items, vectors, histories = synthetic_server(n_items=2_000, n_users=12, dim=32, seed=8)
    model = prepare_model(items, vectors, histories)
    calibration = MatchCalibration(separation=1.4, watches=30)
    for user in [*sorted(histories)[:6], "new user"]:
        scored = score_candidates(model, histories.get(user, []), weights=Weights())
        ranked = _rank(scored, 30, calibration)
        full = MatchScale.fit(scored.relevance[scored.candidates], calibration, cold_start=scored.profile is None)
        shortlisted = ranked.relevance.tolist()
        assert ranked.scale.percents(shortlisted) == full.percents(shortlisted), user
        assert ranked.scale.percents(shortlisted[::7]) == full.percents(shortlisted[::7]), user
