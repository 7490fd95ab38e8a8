"""The server-wide Top Picks of a media type, in rank order."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from sidecar.db.models import Item, TopPick
from sidecar.web.read_models.items import item_summary
from sidecar.web.read_models.shared import iso


async def top_picks(session: AsyncSession, media_type: str) -> list[dict[str, Any]]:
    rows = (
        await session.exec(
            select(TopPick, Item)
            .join(Item, col(Item.id) == TopPick.item_id)
            .where(TopPick.media_type == media_type)
            .order_by(col(TopPick.rank))
        )
    ).all()
    return [
        {
            "rank": tp.rank,
            "score": tp.score,
            "unique_viewers": tp.unique_viewers,
            "play_count": tp.play_count,
            "completion": tp.completion,
            "computed_at": iso(tp.computed_at),
            "item": item_summary(item),
        }
        for tp, item in rows
    ]
