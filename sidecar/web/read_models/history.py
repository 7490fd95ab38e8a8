"""A user's watch history: what they watched, how often, when last, and favourites.

Movies list one row per movie; series one row per series (its watched episodes summed up).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from sidecar.db.models import Item, WatchState
from sidecar.media_types import MediaType, spec
from sidecar.web.read_models.items import item_summary
from sidecar.web.read_models.shared import iso
from sidecar.web.read_models.watch_stats import watched_rows

HistorySort = Literal["recent", "plays"]


def _sort(rows: list[dict[str, Any]], sort: HistorySort) -> list[dict[str, Any]]:
    def recent(row: dict[str, Any]) -> float:
        when: datetime | None = row["_last"]
        return -when.timestamp() if when else float("inf")

    if sort == "plays":
        rows.sort(key=lambda r: (-r["play_count"], recent(r), r["item"]["name"]))
    else:
        rows.sort(key=lambda r: (recent(r), r["item"]["name"]))
    for row in rows:
        row["last_played_at"] = iso(row.pop("_last"))
    return rows


async def load_history(
    session: AsyncSession, user_id: int, media_type: str, sort: HistorySort, limit: int
) -> list[dict[str, Any]]:
    return (await all_history(session, user_id, media_type, sort))[:limit]


async def history_page(
    session: AsyncSession, user_id: int, media_type: str, sort: HistorySort, *, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of the history and how many titles it holds in all."""
    rows = await all_history(session, user_id, media_type, sort)
    return rows[offset : offset + limit], len(rows)


async def all_history(session: AsyncSession, user_id: int, media_type: str, sort: HistorySort) -> list[dict[str, Any]]:
    if media_type == MediaType.MOVIES:
        rows = [
            {
                "item": item_summary(item),
                "play_count": ws.play_count,
                "is_favorite": ws.is_favorite,
                "_last": ws.last_played_at,
            }
            for ws, item in await watched_rows(session, user_id, spec(MediaType.MOVIES).kind)
        ]
        return _sort(rows, sort)
    by_series: dict[int, dict[str, Any]] = {}
    for ws, episode in await watched_rows(session, user_id, "Episode"):
        if episode.series_id is None:
            continue
        row = by_series.setdefault(
            episode.series_id, {"episodes_watched": 0, "play_count": 0, "is_favorite": False, "_last": None}
        )
        row["episodes_watched"] += 1
        row["play_count"] += max(1, ws.play_count)
        row["is_favorite"] = row["is_favorite"] or ws.is_favorite
        if ws.last_played_at and (row["_last"] is None or ws.last_played_at > row["_last"]):
            row["_last"] = ws.last_played_at
    if not by_series:
        return []
    series = (await session.exec(select(Item).where(col(Item.id).in_(list(by_series))))).all()
    favourites = set(
        (
            await session.exec(
                select(WatchState.item_id).where(
                    WatchState.user_id == user_id,
                    col(WatchState.is_favorite),
                    col(WatchState.item_id).in_(list(by_series)),
                )
            )
        ).all()
    )
    rows = []
    for item in series:
        assert item.id is not None
        row = by_series[item.id]
        rows.append({**row, "item": item_summary(item), "is_favorite": row["is_favorite"] or item.id in favourites})
    return _sort(rows, sort)
