"""Top Picks popularity: what this server's users watched most over a time window.

Movies: per title, the different viewers, the plays (at least one per viewer) and the mean completion
(the viewer's ``watch_state.completion``, 1 when played). Series: episodes roll up to their series; plays
are the episodes watched in the window and completion is the share of the series' episodes each viewer
has played. A viewer counts when they have an event in the window or their ``last_played_at`` falls in
it, so a sync that only brought watch state still counts.

A play is a play event that ends a playback or marks a title played (``stop``/``played``/``sync``), or
any event that brought a completed play (``completed``: by the server's truth, see
``sidecar.webhooks.apply``). One playback makes one such event: Jellyfin's second event of a playback
(PlaybackStop beside UserDataSaved/PlaybackFinished) finds nothing new and writes none, and a start applied
after the stop carries the completed play itself.

Each measure is normalised to 0..1 (viewers and plays by the maximum among eligible titles) before the
weights apply, so the weights mean what they say whatever the server's size.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from sidecar.media_types import MediaType
from sidecar.runtime_settings import TopPicksWeights

_MOVIES = text(
    """
    WITH ev AS (
        SELECT pe.user_id, pe.item_id, count(*) AS plays, bool_or(pe.completed) AS completed,
               max(pe.position_ticks)::float / nullif(max(i.runtime_ticks), 0) AS fraction
        FROM play_event pe JOIN item i ON i.id = pe.item_id
        WHERE pe.at >= :since AND (pe.completed OR pe.kind IN ('stop', 'played', 'sync'))
          AND i.kind = 'Movie' AND i.gone_at IS NULL
        GROUP BY pe.user_id, pe.item_id
    ), ws AS (
        SELECT w.user_id, w.item_id, w.completion, w.played
        FROM watch_state w JOIN item i ON i.id = w.item_id
        WHERE w.last_played_at >= :since AND i.kind = 'Movie' AND i.gone_at IS NULL
    ), pairs AS (
        SELECT coalesce(ev.item_id, ws.item_id) AS item_id,
               greatest(coalesce(ev.plays, 0), 1) AS plays,
               least(1.0, greatest(
                   coalesce(ws.completion, 0),
                   coalesce(ev.fraction, 0),
                   CASE WHEN coalesce(ev.completed, false) OR coalesce(ws.played, false) THEN 1 ELSE 0 END
               )) AS completion
        FROM ev FULL OUTER JOIN ws ON ws.user_id = ev.user_id AND ws.item_id = ev.item_id
    )
    SELECT item_id, count(*) AS viewers, sum(plays) AS plays, avg(completion) AS completion
    FROM pairs GROUP BY item_id
    """
)

_SERIES = text(
    """
    WITH watched AS (
        SELECT pe.user_id, e.series_id, e.id AS episode_id
        FROM play_event pe JOIN item e ON e.id = pe.item_id
        WHERE pe.at >= :since AND (pe.completed OR pe.kind IN ('stop', 'played', 'sync')) AND e.kind = 'Episode'
          AND e.series_id IS NOT NULL AND e.gone_at IS NULL
        UNION
        SELECT w.user_id, e.series_id, e.id
        FROM watch_state w JOIN item e ON e.id = w.item_id
        WHERE w.last_played_at >= :since AND e.kind = 'Episode' AND e.series_id IS NOT NULL AND e.gone_at IS NULL
    ), per_user AS (
        SELECT user_id, series_id, count(*) AS episodes FROM watched GROUP BY user_id, series_id
    ), totals AS (
        SELECT series_id, count(*) AS total FROM item
        WHERE kind = 'Episode' AND gone_at IS NULL AND series_id IS NOT NULL GROUP BY series_id
    ), played AS (
        SELECT w.user_id, e.series_id, count(*) AS played
        FROM watch_state w JOIN item e ON e.id = w.item_id
        WHERE w.played AND e.kind = 'Episode' AND e.series_id IS NOT NULL
        GROUP BY w.user_id, e.series_id
    )
    SELECT pu.series_id AS item_id, count(*) AS viewers, sum(pu.episodes) AS plays,
           avg(least(1.0, greatest(coalesce(p.played, 0), pu.episodes)::float / nullif(t.total, 0))) AS completion
    FROM per_user pu
    JOIN item s ON s.id = pu.series_id AND s.gone_at IS NULL
    LEFT JOIN totals t ON t.series_id = pu.series_id
    LEFT JOIN played p ON p.user_id = pu.user_id AND p.series_id = pu.series_id
    GROUP BY pu.series_id
    """
)


@dataclass(frozen=True)
class Popularity:
    item_id: int
    viewers: int
    plays: int
    completion: float


@dataclass(frozen=True)
class RankedTitle:
    rank: int
    score: float
    stats: Popularity


async def popularity(session: AsyncSession, media_type: str, since: datetime) -> list[Popularity]:
    query = _MOVIES if media_type == MediaType.MOVIES else _SERIES
    connection = await session.connection()
    rows = (await connection.execute(query, {"since": since})).all()
    return [Popularity(int(r.item_id), int(r.viewers), int(r.plays), float(r.completion or 0.0)) for r in rows]


def rank_popular(
    stats: list[Popularity], weights: TopPicksWeights, *, min_viewers: int, count: int
) -> list[RankedTitle]:
    """Eligible titles (``min_viewers``+), best first; ties go to more viewers, more plays, lower id."""
    eligible = [s for s in stats if s.viewers >= min_viewers]
    if not eligible:
        return []
    max_viewers = max(s.viewers for s in eligible)
    max_plays = max(s.plays for s in eligible) or 1
    total = weights.unique_viewers + weights.play_count + weights.completion or 1.0

    def score(s: Popularity) -> float:
        return (
            weights.unique_viewers * s.viewers / max_viewers
            + weights.play_count * s.plays / max_plays
            + weights.completion * min(1.0, max(0.0, s.completion))
        ) / total

    scored = sorted(((score(s), s) for s in eligible), key=lambda p: (-p[0], -p[1].viewers, -p[1].plays, p[1].item_id))
    return [RankedTitle(rank, round(value, 6), s) for rank, (value, s) in enumerate(scored[:count], start=1)]


def reason(stats: Popularity, media_type: str, days: int) -> str:
    people = "1 person" if stats.viewers == 1 else f"{stats.viewers} people"
    if media_type == MediaType.SERIES:
        return f"Watched by {people} here in the last {days} days ({stats.plays} episodes)."
    return f"Watched by {people} here in the last {days} days."
