"""A user's series row rolled up from their episodes.

played: every live episode played; completion: share of live episodes played; play count: sum over
episodes; last played: latest episode. Favourite and rating stay as the server reports them for the
series itself. A series with no episode activity keeps a row only while it is a favourite or rated.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

_ROLLUP = text(
    """
    WITH eps AS (
        SELECT e.series_id AS sid,
               count(*) AS total,
               count(*) FILTER (WHERE ws.played) AS watched,
               count(ws.item_id) AS touched,
               coalesce(sum(ws.play_count), 0) AS plays,
               max(ws.last_played_at) AS last_played
        FROM item e
        LEFT JOIN watch_state ws ON ws.item_id = e.id AND ws.user_id = :u
        WHERE e.kind = 'Episode' AND e.gone_at IS NULL AND e.series_id = ANY(:sids)
        GROUP BY e.series_id
    )
    INSERT INTO watch_state
        (user_id, item_id, played, play_count, is_favorite, last_played_at, position_ticks, completion, updated_at)
    SELECT :u, sid, watched = total, plays, false, last_played, 0, watched::float / total, now()
    FROM eps WHERE touched > 0
    ON CONFLICT (user_id, item_id) DO UPDATE SET
        played = EXCLUDED.played,
        play_count = EXCLUDED.play_count,
        last_played_at = EXCLUDED.last_played_at,
        position_ticks = 0,
        completion = EXCLUDED.completion,
        updated_at = now()
    RETURNING item_id
    """
)

_RESET = text(
    """
    UPDATE watch_state SET played = false, play_count = 0, last_played_at = NULL, position_ticks = 0,
        completion = 0, updated_at = now()
    WHERE user_id = :u AND item_id = ANY(:sids) AND NOT (item_id = ANY(:active))
    """
)

_PRUNE = text(
    """
    DELETE FROM watch_state WHERE user_id = :u AND item_id = ANY(:sids) AND NOT (item_id = ANY(:active))
        AND NOT is_favorite AND rating IS NULL
    """
)


async def rollup_series(conn: AsyncConnection, user_id: int, series_ids: Collection[int]) -> None:
    if not series_ids:
        return
    sids = sorted(series_ids)
    active = [int(r[0]) for r in await conn.execute(_ROLLUP, {"u": user_id, "sids": sids})]
    params = {"u": user_id, "sids": sids, "active": active}
    await conn.execute(_PRUNE, params)
    await conn.execute(_RESET, params)
