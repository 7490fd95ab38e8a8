"""Recommendation jobs, and the follow-up stage that refreshes one user's picks after they watched."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from arq.jobs import Job, JobStatus
from sqlalchemy import text

from sidecar.jobs.progress import Progress
from sidecar.jobs.queue import enqueue
from sidecar.media_types import MEDIA_TYPES, SPECS, MediaType, spec
from sidecar.picks_store.inputs import snapshot_cache
from sidecar.picks_store.refresh import refresh_user_picks
from sidecar.picks_store.refresh_all import refresh_all_picks
from sidecar.picks_store.runs import clear_recommendations
from sidecar.publish.ai_picks import publish_everyone
from sidecar.services import QUEUE_NAME, Services


async def _recommend(
    services: Services, progress: Progress, media_type: MediaType, user_ids: list[int] | None, publish: bool
) -> dict[str, Any]:
    result = await refresh_all_picks(services, media_type, progress, user_ids=user_ids)
    if publish:
        report = await publish_everyone(services, media_type, progress)
        report.raise_failures()
        result["published"] = report.as_dict()
    return result


async def generate_recommendations(
    services: Services, progress: Progress, user_ids: list[int] | None = None, publish: bool = False
) -> dict[str, Any]:
    return await _recommend(services, progress, MediaType.MOVIES, user_ids, publish)


async def generate_series_recommendations(
    services: Services, progress: Progress, user_ids: list[int] | None = None, publish: bool = False
) -> dict[str, Any]:
    return await _recommend(services, progress, MediaType.SERIES, user_ids, publish)


async def queue_recommend_and_publish(services: Services, media_types: Iterable[MediaType]) -> None:
    """Queue every user's picks of these types recomputed, then published: after the first sync (first picks
    from co-watch, popularity and metadata, before any title is embedded) and after each embedding run (the
    same lists refined by the new vectors).

    At most one such run waits per type: a request while one is queued rides along with it. A run already
    going may have read the catalogue before what prompted this request, so then a second one is queued
    behind it (its own id: arq would refuse the running one's); full refreshes of a type take turns
    (``refresh_all_picks``) and read the catalogue once their turn comes.
    """
    for media_type in media_types:
        name = spec(media_type).recommend_job
        for job_id in (f"{name}:publish", f"{name}:publish-next"):
            if await enqueue(services.redis, name, job_id=job_id, publish=True) is not None:
                break
            if await Job(job_id, services.redis, _queue_name=QUEUE_NAME).status() != JobStatus.in_progress:
                break  # queued, not started: it will see what prompted this request


async def rebuild_recommendations(
    services: Services, progress: Progress, media_types: list[MediaType] | None = None
) -> dict[str, Any]:
    snapshot_cache(services).invalidate()
    results: dict[str, Any] = {}
    for media_type in media_types or MEDIA_TYPES:
        cleared = await clear_recommendations(services, media_type)
        progress.log(f"{media_type}: cleared {cleared} runs")
        results[media_type] = await refresh_all_picks(services, media_type, progress, trigger="rebuild")
        results[media_type]["cleared_runs"] = cleared
    return results


async def _enabled_for(services: Services, user_id: int) -> set[str]:
    async with services.engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    f"SELECT {', '.join(s.user_flag for s in SPECS.values())} FROM app_user"
                    " WHERE id = :u AND gone_at IS NULL AND NOT is_disabled"
                ),
                {"u": user_id},
            )
        ).first()
    if row is None:
        return set()
    return {mt for mt, s in SPECS.items() if row._mapping[s.user_flag]}


async def refresh_after_watch(
    services: Services, user_id: int, media_types: frozenset[str], progress: Progress
) -> None:
    """One user's picks recomputed from the cached catalogue (only their own history is re-read)."""
    enabled = await _enabled_for(services, user_id)
    for media_type in MEDIA_TYPES:
        if media_type in media_types and media_type in enabled:
            result = await refresh_user_picks(services, user_id, media_type, trigger="webhook")
            progress.log(
                f"user {user_id} {media_type}: {result.picks} picks in {sum(result.timings.values()) * 1000:.0f} ms"
            )
