"""Watch stats for one user: summary, genres, monthly timeline, decades, ratings, people, studios.

``watch_stats`` is pure (rows in, dict out); ``load_watch_stats`` reads the user's watch history.
Movies count once each; series count once per series with at least one watched episode (their genres,
decade, rating, people and networks are the series'), while the timeline and hours count episodes.
The timeline places each title in the month it was last played (the history we keep per title).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from sidecar.db.models import Item, WatchState
from sidecar.media_types import MEDIA_TYPES, MediaType, spec
from sidecar.recommender.summary import count_titles, ranked

TOP_N = 10
TIMELINE_MONTHS = 12
TICKS_PER_HOUR = 36_000_000_000


@dataclass(frozen=True)
class Watched:
    """One watched movie or episode; ``title`` is the movie, or the episode's series when known."""

    title: Item
    runtime_ticks: int | None
    play_count: int
    is_favorite: bool
    last_played_at: datetime | None


def bars(counter: Counter[str], limit: int = TOP_N) -> list[dict[str, Any]]:
    """The largest counts first; ties by label (as the taste text ranks them: ``summary.ranked``)."""
    top = list(ranked(counter)[:limit])
    peak = top[0][1] if top else 0
    return [{"label": label, "count": count, "pct": round(100 * count / peak) if peak else 0} for label, count in top]


def _months(now: datetime) -> list[str]:
    year, month = now.year, now.month
    labels = []
    for _ in range(TIMELINE_MONTHS):
        labels.append(f"{year:04d}-{month:02d}")
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return labels[::-1]


def _rating_bucket(rating: float) -> str:
    low = int(rating)
    return "9-10" if low >= 9 else f"{low}-{low + 1}"


def watch_stats(rows: Sequence[Watched], media_type: str, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    titles: dict[int, Item] = {}
    favourites: set[int] = set()
    timeline: Counter[str] = Counter()
    ticks = 0
    for row in rows:
        assert row.title.id is not None
        titles[row.title.id] = row.title
        if row.is_favorite:
            favourites.add(row.title.id)
        ticks += (row.runtime_ticks or 0) * max(1, row.play_count)
        if row.last_played_at is not None:
            timeline[f"{row.last_played_at.year:04d}-{row.last_played_at.month:02d}"] += 1
    genres: Counter[str] = Counter()
    decades: Counter[str] = Counter()
    official: Counter[str] = Counter()
    community: Counter[str] = Counter()
    actors: Counter[str] = Counter()
    directors: Counter[str] = Counter()
    studios: Counter[str] = Counter()
    counts = count_titles((item.genres, item.year, ()) for item in titles.values())  # as the taste text counts
    genres.update(dict(counts.genres))
    decades.update({f"{decade}s": n for decade, n in counts.decades})
    for item in titles.values():
        if item.official_rating:
            official[item.official_rating] += 1
        if item.community_rating is not None:
            community[_rating_bucket(item.community_rating)] += 1
        studios.update(item.studios)
        for person in item.people:
            name = person.get("name")
            if not name:
                continue
            if person.get("type") == "Actor":
                actors[name] += 1
            elif person.get("type") in ("Director", "Creator"):
                directors[name] += 1
    months = _months(now)
    month_counts = Counter({m: timeline.get(m, 0) for m in months})
    peak = max(month_counts.values(), default=0)
    return {
        "media_type": media_type,
        "summary": {
            "titles": len(titles),
            "plays": len(rows),
            "favourites": len(favourites),
            "hours": round(ticks / TICKS_PER_HOUR, 1),
        },
        "genres": bars(genres),
        "timeline": [
            {"label": m, "count": month_counts[m], "pct": round(100 * month_counts[m] / peak) if peak else 0}
            for m in months
        ],
        "decades": sorted(bars(decades, 20), key=lambda b: str(b["label"])),
        "official_ratings": bars(official),
        "community_ratings": sorted(bars(community, 20), key=lambda b: str(b["label"]), reverse=True),
        "actors": bars(actors),
        "directors": bars(directors),
        "studios": bars(studios),
    }


async def watched_rows(session: AsyncSession, user_id: int, kind: str) -> list[tuple[WatchState, Item]]:
    rows = await session.exec(
        select(WatchState, Item)
        .join(Item, col(Item.id) == WatchState.item_id)
        .where(
            WatchState.user_id == user_id,
            Item.kind == kind,
            or_(col(WatchState.played), col(WatchState.play_count) > 0),
        )
    )
    return list(rows.all())


async def _items(session: AsyncSession, ids: Iterable[int]) -> dict[int, Item]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return {i.id: i for i in (await session.exec(select(Item).where(col(Item.id).in_(wanted)))).all() if i.id}


async def load_watch_stats(session: AsyncSession, user_id: int, media_type: str) -> dict[str, Any]:
    if media_type == MediaType.MOVIES:
        rows = [
            Watched(item, item.runtime_ticks, ws.play_count, ws.is_favorite, ws.last_played_at)
            for ws, item in await watched_rows(session, user_id, spec(MediaType.MOVIES).kind)
        ]
        return watch_stats(rows, media_type)
    episodes = await watched_rows(session, user_id, "Episode")
    series = await _items(session, (ep.series_id for _, ep in episodes if ep.series_id is not None))
    favourite_series = {
        ws.item_id
        for ws in (
            await session.exec(select(WatchState).where(WatchState.user_id == user_id, col(WatchState.is_favorite)))
        ).all()
    }
    rows = []
    for ws, episode in episodes:
        title = series.get(episode.series_id) if episode.series_id is not None else None
        title = title or episode
        rows.append(
            Watched(
                title,
                episode.runtime_ticks,
                ws.play_count,
                ws.is_favorite or title.id in favourite_series,
                ws.last_played_at,
            )
        )
    return watch_stats(rows, media_type)


async def load_comparison(session: AsyncSession, user_id: int) -> list[dict[str, Any]]:
    """Movies against series for one user (the stats page's comparison chart): titles, plays (movies watched,
    episodes watched), hours and favourites, with the same counting rules as ``watch_stats``."""
    summaries = [(await load_watch_stats(session, user_id, mt))["summary"] for mt in MEDIA_TYPES]
    return [
        {"label": label, "values": [s[key] for s in summaries]}
        for label, key in (("Titles", "titles"), ("Plays", "plays"), ("Hours", "hours"), ("Favourites", "favourites"))
    ]
