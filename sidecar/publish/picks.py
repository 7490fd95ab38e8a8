"""Reading what to publish from the database: a user's current picks and the items behind them.

A user's current picks for a media type are the picks of their latest ``recommendation_run`` with status
``done``, in rank order. Items that have left the server (``gone_at``) are skipped.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from sidecar.db.models import AppUser, Item
from sidecar.media_types import spec
from sidecar.publish.sources import EpisodeSource, TitleSource

_CURRENT_PICKS = text(
    """
    SELECT r.item_id, r.rank, r.explanation
    FROM recommendation r
    JOIN item i ON i.id = r.item_id AND i.gone_at IS NULL
    WHERE r.run_id = (
        SELECT id FROM recommendation_run
        WHERE user_id = :user_id AND media_type = :media_type AND status = 'done'
        ORDER BY finished_at DESC NULLS LAST, id DESC
        LIMIT 1
    )
    ORDER BY r.rank, r.id
    """
)


async def current_picks(session: AsyncSession, user_id: int, media_type: str) -> list[tuple[int, str | None]]:
    """``(item_id, explanation)`` of the user's current picks in rank order (each item once)."""
    connection = await session.connection()
    rows = (await connection.execute(_CURRENT_PICKS, {"user_id": user_id, "media_type": media_type})).all()
    seen: set[int] = set()
    picks: list[tuple[int, str | None]] = []
    for item_id, _rank, explanation in rows:
        if item_id not in seen:
            seen.add(item_id)
            picks.append((int(item_id), explanation))
    return picks


def _source(item: Item, episodes: Sequence[Item] = ()) -> TitleSource:
    return TitleSource(
        item_id=int(item.id or 0),
        provider_id=item.provider_id,
        kind=item.kind,
        name=item.name,
        year=item.year,
        original_title=item.original_title,
        overview=item.overview,
        tagline=item.tagline,
        genres=tuple(item.genres or ()),
        studios=tuple(item.studios or ()),
        people=tuple(p for p in item.people or () if isinstance(p, dict)),
        community_rating=item.community_rating,
        critic_rating=item.critic_rating,
        official_rating=item.official_rating,
        runtime_ticks=item.runtime_ticks,
        premiere_date=item.premiere_date,
        status=item.status,
        path=item.path,
        provider_ids=dict(item.provider_ids or {}),
        image_tags=dict(item.image_tags or {}),
        episodes=tuple(
            EpisodeSource(
                provider_id=ep.provider_id,
                season=ep.season_number if ep.season_number is not None else 1,
                episode=int(ep.episode_number),
                name=ep.name,
                path=ep.path,
            )
            for ep in episodes
            if ep.episode_number is not None
        ),
    )


async def load_sources(session: AsyncSession, item_ids: Sequence[int]) -> dict[int, TitleSource]:
    """The items (with their episodes, for series) keyed by item id."""
    if not item_ids:
        return {}
    items = (
        await session.exec(select(Item).where(Item.id.in_(list(item_ids)), Item.gone_at.is_(None)))  # type: ignore[union-attr]
    ).all()
    series_ids = [int(i.id or 0) for i in items if i.kind == "Series"]
    episodes: dict[int, list[Item]] = {}
    if series_ids:
        rows = (
            await session.exec(
                select(Item).where(
                    Item.series_id.in_(series_ids),  # type: ignore[union-attr]
                    Item.kind == "Episode",
                    Item.gone_at.is_(None),  # type: ignore[union-attr]
                )
            )
        ).all()
        for ep in rows:
            episodes.setdefault(int(ep.series_id or 0), []).append(ep)
    return {int(i.id or 0): _source(i, episodes.get(int(i.id or 0), ())) for i in items}


async def publishable_users(session: AsyncSession, media_type: str) -> list[AppUser]:
    """Users who get an AI Picks library of this type: present on the server, enabled, type switched on."""
    flag = getattr(AppUser, spec(media_type).user_flag)
    rows = await session.exec(
        select(AppUser)
        .where(AppUser.gone_at.is_(None), AppUser.is_disabled.is_(False), flag.is_(True))  # type: ignore[union-attr,attr-defined]
        .order_by(AppUser.id)  # type: ignore[arg-type]
    )
    return list(rows.all())
