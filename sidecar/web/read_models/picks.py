"""A user's picks: the latest finished recommendation run and its ranked titles with their reasons."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from sidecar.db.models import Item, Recommendation, RecommendationRun
from sidecar.media_types import SPECS
from sidecar.web.read_models.items import item_summary
from sidecar.web.read_models.shared import iso

COMPONENTS: tuple[tuple[str, str], ...] = (
    ("taste", "Taste match"),
    ("discovery", "Discovery"),
    ("quality", "Quality"),
    ("variety", "Variety"),
    ("cowatch", "Watched by similar viewers"),
)


async def latest_run(session: AsyncSession, user_id: int, media_type: str) -> RecommendationRun | None:
    return (
        await session.exec(
            select(RecommendationRun)
            .where(
                RecommendationRun.user_id == user_id,
                RecommendationRun.media_type == media_type,
                RecommendationRun.status == "done",
            )
            .order_by(col(RecommendationRun.finished_at).desc().nulls_last(), col(RecommendationRun.id).desc())
            .limit(1)
        )
    ).first()


def _components(rec: Recommendation) -> list[dict[str, Any]]:
    parts = []
    for key, label in COMPONENTS:
        if key in rec.components:
            value = float(rec.components[key])
            parts.append({"key": key, "label": label, "value": value, "pct": round(max(0.0, min(1.0, value)) * 100)})
    return parts


def pick_view(rec: Recommendation, item: Item) -> dict[str, Any]:
    return {
        "rank": rec.rank,
        "score": rec.score,
        "match_pct": rec.match_pct,
        # The overall score as "higher than N% of the user's candidates" (N < 100): the match % follows it.
        "overall_pct": min(99, max(1, int(max(0.0, min(1.0, float(rec.score))) * 100))),
        "components": _components(rec),
        "genre_analysis": {
            "matching": list(rec.genre_analysis.get("matching", [])),
            "new": list(rec.genre_analysis.get("new", [])),
        },
        "evidence": [
            {
                "item_id": e.get("item_id"),
                "title": e.get("title"),
                "similarity": e.get("similarity"),
            }
            for e in rec.evidence
        ],
        "explanation": rec.explanation,
        "item": item_summary(item),
    }


async def picks(session: AsyncSession, user_id: int, media_type: str) -> dict[str, Any]:
    run = await latest_run(session, user_id, media_type)
    if run is None:
        return {"media_type": media_type, "run": None, "picks": []}
    rows = (
        await session.exec(
            select(Recommendation, Item)
            .join(Item, col(Item.id) == Recommendation.item_id)
            .where(Recommendation.run_id == run.id, Recommendation.user_id == user_id)
            .order_by(col(Recommendation.rank))
        )
    ).all()
    return {
        "media_type": media_type,
        "run": {"id": run.id, "finished_at": iso(run.finished_at), "candidate_count": run.candidate_count},
        "picks": [pick_view(rec, item) for rec, item in rows],
    }


async def pick_for_item(session: AsyncSession, user_id: int, item: Item) -> dict[str, Any] | None:
    media_type = next((mt for mt, s in SPECS.items() if s.kind == item.kind), None)  # a season or episode: none
    if media_type is None:
        return None
    run = await latest_run(session, user_id, media_type)
    if run is None:
        return None
    rec = (
        await session.exec(
            select(Recommendation).where(
                Recommendation.run_id == run.id,
                Recommendation.user_id == user_id,
                Recommendation.item_id == item.id,
            )
        )
    ).first()
    return pick_view(rec, item) if rec is not None else None
