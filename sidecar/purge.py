"""Admin → Database: what Marquee holds (counts), and purging movies, series or everything.

A purge deletes the titles of a media type with everything that hangs off them (vectors, watch state,
play events, picks and their runs, Top Picks, taste profiles, channel contents, the published-file
records), in one transaction. It then forgets that the first sync ran and queues ``initial-sync``, so
the app recovers by itself: the sync reads the titles and every user's whole history again (the users'
watch cursors are reset), its new titles are embedded, and the embeddings queue fresh picks.

"Everything" is both types plus the source libraries (their enabled flags too) and the webhook log.
Users, settings, channels (emptied), published libraries and job history stay, so the admin stays
logged in and the server keeps its AI Picks libraries, which the next publish rewrites.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Literal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from sidecar.jobs.queue import enqueue
from sidecar.media_types import MEDIA_TYPES, MediaType, spec
from sidecar.services import Services
from sidecar.sync import state

log = logging.getLogger(__name__)

PurgeTarget = Literal["movies", "series", "everything"]
PURGE_TARGETS: tuple[PurgeTarget, ...] = ("movies", "series", "everything")
INITIAL_SYNC_JOB = "initial-sync"


async def database_counts(services: Services) -> dict[str, object]:
    """Counts for the Database page and ``GET /api/admin/purge/stats``."""
    async with services.engine.connect() as conn:
        one = (
            await conn.execute(
                text(
                    "SELECT"
                    " (SELECT count(*) FROM item WHERE kind = 'Movie' AND gone_at IS NULL) AS movies,"
                    " (SELECT count(*) FROM item WHERE kind = 'Series' AND gone_at IS NULL) AS series,"
                    " (SELECT count(*) FROM item WHERE kind = 'Season' AND gone_at IS NULL) AS seasons,"
                    " (SELECT count(*) FROM item WHERE kind = 'Episode' AND gone_at IS NULL) AS episodes,"
                    " (SELECT count(*) FROM library WHERE gone_at IS NULL AND NOT is_marquee_output) AS libraries,"
                    " (SELECT count(*) FROM app_user WHERE gone_at IS NULL) AS users,"
                    " (SELECT count(*) FROM watch_state) AS watch_states,"
                    " (SELECT count(*) FROM play_event) AS play_events,"
                    " (SELECT count(*) FROM webhook_event) AS webhook_events,"
                    " (SELECT count(*) FROM recommendation) AS picks,"
                    " (SELECT count(*) FROM recommendation_run) AS recommendation_runs,"
                    " (SELECT count(*) FROM top_pick) AS top_picks,"
                    " (SELECT count(*) FROM job_run) AS job_runs"
                )
            )
        ).one()
        by_model = (
            await conn.execute(
                text(
                    "SELECT model, count(*) FILTER (WHERE embedding IS NOT NULL) AS vectors,"
                    " count(*) FILTER (WHERE error IS NOT NULL) AS failed, max(dim) AS dim"
                    " FROM item_embedding GROUP BY model ORDER BY model"
                )
            )
        ).all()
    counts: dict[str, object] = dict(one._mapping)
    counts["embeddings"] = [
        {"model": r.model, "vectors": int(r.vectors), "failed": int(r.failed), "dimension": r.dim} for r in by_model
    ]
    return counts


async def _purge_type(conn: AsyncConnection, media_type: MediaType) -> int:
    kinds = list(spec(media_type).server_kinds)
    doomed = "SELECT id FROM item WHERE kind = ANY(:kinds)"
    params = {"kinds": kinds, "mt": str(media_type)}
    await conn.execute(text("DELETE FROM recommendation WHERE media_type = :mt OR item_id IN (" + doomed + ")"), params)
    await conn.execute(text("DELETE FROM recommendation_run WHERE media_type = :mt"), params)
    await conn.execute(text("DELETE FROM top_pick WHERE media_type = :mt OR item_id IN (" + doomed + ")"), params)
    await conn.execute(text("DELETE FROM taste_profile WHERE media_type = :mt"), params)
    await conn.execute(text("DELETE FROM published_file WHERE item_id IN (" + doomed + ")"), params)
    await conn.execute(text("DELETE FROM play_event WHERE item_id IN (" + doomed + ")"), params)
    await conn.execute(
        text("UPDATE channel SET item_ids = '[]', example_item_ids = '[]' WHERE media_type = :mt"), params
    )
    # item_embedding and watch_state go with their items (ON DELETE CASCADE)
    deleted = await conn.execute(text("DELETE FROM item WHERE kind = ANY(:kinds)"), params)
    return int(deleted.rowcount or 0)


@dataclass(frozen=True)
class PurgeResult:
    purged: PurgeTarget
    deleted: dict[str, int]  # rows by what they were: movies, series (with seasons and episodes), libraries, ...
    sync_queued: bool

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


async def purge(services: Services, target: PurgeTarget) -> PurgeResult:
    """Delete ``target``'s data and queue the sync that brings it back; returns what was deleted."""
    types = list(MEDIA_TYPES) if target == "everything" else [MediaType(target)]
    deleted: dict[str, int] = {}
    async with services.engine.begin() as conn:
        # One purge at a time, and never beside a sync writing the same rows half-way.
        await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('marquee-purge'))"))
        for media_type in types:
            deleted[str(media_type)] = await _purge_type(conn, media_type)
        if target == "everything":
            deleted["webhook_events"] = int((await conn.execute(text("DELETE FROM webhook_event"))).rowcount or 0)
            deleted["libraries"] = int((await conn.execute(text("DELETE FROM library"))).rowcount or 0)
        # The next watch sync re-reads every user's whole history, not the delta since the last one.
        await conn.execute(text("UPDATE app_user SET watch_synced_at = NULL"))
        await conn.execute(text("DELETE FROM sync_state WHERE key = :k"), {"k": state.INITIAL_SYNC})
    log.info("purged %s: %s; queueing %s", target, deleted, INITIAL_SYNC_JOB)
    queued = services.media_server is not None
    if queued:  # None back means it is queued already, which is as good
        await enqueue(services.redis, INITIAL_SYNC_JOB, job_id=INITIAL_SYNC_JOB)
    return PurgeResult(target, deleted, queued)
