"""Recommendation settings as the refresh uses them: weights, count and recent-watch limit per media type
(from runtime settings, defaults when never saved)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from sidecar import runtime_settings as rs
from sidecar.media_types import MediaType
from sidecar.recommender import Weights
from sidecar.services import Services


@dataclass(frozen=True, slots=True)
class RecommendationConfig:
    weights: Weights
    count: int
    recent_limit: int

    def as_params(self) -> dict[str, Any]:
        w = self.weights
        return {
            "weights": {
                "similarity": w.similarity,
                "novelty": w.novelty,
                "rating": w.rating,
                "diversity": w.diversity,
                "cowatch": w.cowatch,
            },
            "count": self.count,
            "recent_limit": self.recent_limit,
        }


async def load_config(services: Services, media_type: MediaType) -> RecommendationConfig:
    """Weights, count and recent-watch limit from runtime settings (defaults when never saved)."""
    async with services.engine.connect() as conn:
        return await config_from(conn, media_type)


async def config_from(conn: AsyncConnection, media_type: MediaType) -> RecommendationConfig:
    key = rs.recommendation_key(media_type)
    value = (
        await conn.execute(text("SELECT value FROM runtime_setting WHERE key = :k"), {"k": key.key})
    ).scalar_one_or_none()
    stored = rs.parse(key, value)
    w = stored.weights
    return RecommendationConfig(
        weights=Weights(similarity=w.similarity, novelty=w.novelty, rating=w.rating, diversity=w.diversity),
        count=stored.count,
        recent_limit=stored.recent_watch_limit,
    )
