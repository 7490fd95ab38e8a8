"""Runtime settings: defaults, round trips, merging over defaults, and bad stored values."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy import text

from sidecar import runtime_settings as rs
from sidecar.services import Services


async def test_defaults_when_nothing_stored(services: Services) -> None:
    async with services.sessions() as session:
        movies = await rs.load(session, rs.recommendation_key("movies"))
        top = await rs.load(session, rs.top_picks_key("series"))
        explanations = await rs.load(session, rs.EXPLANATIONS)
    assert (
        movies.weights.similarity,
        movies.weights.novelty,
        movies.weights.rating,
        movies.weights.diversity,
    ) == (
        0.5,
        0.3,
        0.2,
        0.3,
    )
    assert movies.count == 50 and movies.recent_watch_limit == 100
    assert (top.window_days, top.min_viewers, top.count) == (30, 2, 10)
    assert (top.weights.unique_viewers, top.weights.play_count, top.weights.completion) == (0.5, 0.3, 0.2)
    assert explanations.enabled is True


async def test_save_round_trip_per_media_type(services: Services) -> None:
    async with services.sessions() as session:
        value = rs.RecommendationSettings(weights=rs.AlgorithmWeights(similarity=0.9), count=20)
        await rs.save(session, rs.recommendation_key("series"), value)
        await rs.save(session, rs.recommendation_key("series"), value.model_copy(update={"count": 21}))
    async with services.sessions() as session:
        series = await rs.load(session, rs.recommendation_key("series"))
        movies = await rs.load(session, rs.recommendation_key("movies"))
    assert series.count == 21 and series.weights.similarity == 0.9 and series.weights.novelty == 0.3
    assert movies.count == 50


async def test_partial_stored_value_merges_over_defaults(services: Services) -> None:
    async with services.sessions() as session:
        await session.exec(
            text(
                "INSERT INTO runtime_setting (key, value) "
                """VALUES ('top_picks.movies', '{"weights": {"play_count": 0.9}}')"""
            )
        )
        await session.commit()
        top = await rs.load(session, rs.top_picks_key("movies"))
    assert top.weights.play_count == 0.9 and top.weights.unique_viewers == 0.5 and top.count == 10


async def test_invalid_stored_value_falls_back_to_defaults(services: Services) -> None:
    async with services.sessions() as session:
        await session.exec(text("""INSERT INTO runtime_setting (key, value) VALUES ('publish', '{"mode": "ftp"}')"""))
        await session.commit()
        publish = await rs.load(session, rs.PUBLISH)
    assert publish.mode is None
    assert rs.effective_publish_mode(publish, services.settings) == "strm"


def test_out_of_range_values_are_rejected() -> None:
    with pytest.raises(ValidationError):
        rs.AlgorithmWeights(similarity=1.5)
    with pytest.raises(ValidationError):
        rs.RecommendationSettings(count=0)
