"""Sync jobs: the server's users, libraries, catalogue and watch history, full and delta.

``initial-sync`` runs every step in order; the sweeper queues it once when the database has never
synced. ``sync-watch-history`` runs hourly as a delta (the reconciliation that makes a lost webhook
cost freshness only); ``sync-catalogue`` re-reads the libraries nightly.
"""

from __future__ import annotations

from typing import Any

from sidecar.jobs.progress import Progress
from sidecar.jobs.queue import enqueue
from sidecar.jobs.recommend_jobs import queue_recommend_and_publish
from sidecar.media_types import MEDIA_TYPES, spec
from sidecar.services import Services
from sidecar.sync import state
from sidecar.sync.items import count_catalogue, sync_kind
from sidecar.sync.libraries import source_libraries, sync_libraries
from sidecar.sync.server import ensure_server
from sidecar.sync.users import sync_users
from sidecar.sync.watch import sync_watch_history


async def _sync_items(services: Services, progress: Progress, media_type: str) -> dict[str, Any]:
    kinds = list(spec(media_type).server_kinds)
    libraries = await source_libraries(services, await ensure_server(services))
    total = await count_catalogue(services, libraries, kinds)
    await progress.update(0, total, f"reading {media_type} from {len(libraries)} libraries")

    async def report(n: int) -> None:
        await progress.advance(n, f"{progress.current + n} of {total} {media_type} items")

    counts = await sync_kind(services, kinds, report=report)
    progress.log(f"{media_type}: {counts.seen} items ({counts.by_kind}), {counts.inserted} new, {counts.gone} gone")
    if counts.inserted or counts.gone:
        name = spec(media_type).embed_job
        await enqueue(services.redis, name, job_id=name)
    return {"seen": counts.seen, "new": counts.inserted, "gone": counts.gone, "by_kind": counts.by_kind}


async def _watch(services: Services, progress: Progress, full: bool) -> dict[str, Any]:
    async def report(done: int, total: int) -> None:
        await progress.update(done, total, f"{'full' if full else 'delta'} watch history: {done} of {total} users")

    result = await sync_watch_history(services, full=full, report=report)
    progress.log(f"watch history ({'full' if full else 'delta'}): {result}")
    return result


async def sync_users_job(services: Services, progress: Progress) -> dict[str, Any]:
    return await sync_users(services)


async def sync_libraries_job(services: Services, progress: Progress) -> dict[str, Any]:
    return await sync_libraries(services)


async def sync_movies_job(services: Services, progress: Progress) -> dict[str, Any]:
    return await _sync_items(services, progress, "movies")


async def sync_series_job(services: Services, progress: Progress) -> dict[str, Any]:
    return await _sync_items(services, progress, "series")


async def sync_catalogue_job(services: Services, progress: Progress) -> dict[str, Any]:
    result: dict[str, Any] = {"users": await sync_users(services)}
    await progress.checkpoint()  # between steps: a cancelled run stops here
    result["libraries"] = await sync_libraries(services)
    await progress.checkpoint()
    result["movies"] = await _sync_items(services, progress, "movies")
    result["series"] = await _sync_items(services, progress, "series")
    return result


async def sync_watch_history_job(services: Services, progress: Progress, full: bool = False) -> dict[str, Any]:
    return await _watch(services, progress, full)


async def sync_watch_history_full_job(services: Services, progress: Progress) -> dict[str, Any]:
    return await _watch(services, progress, True)


async def initial_sync_job(services: Services, progress: Progress) -> dict[str, Any]:
    result: dict[str, Any] = {}
    progress.log("syncing users and libraries")
    result["users"] = await sync_users(services)
    await progress.checkpoint()  # between steps: a cancelled run stops here
    result["libraries"] = await sync_libraries(services)
    await progress.checkpoint()
    result["movies"] = await _sync_items(services, progress, "movies")
    result["series"] = await _sync_items(services, progress, "series")
    result["watch"] = await _watch(services, progress, True)
    await state.record(services.engine, state.INITIAL_SYNC, result)
    # first picks now, from co-watch, popularity and metadata; the embedding jobs queued above refine them
    await queue_recommend_and_publish(services, MEDIA_TYPES)
    return result
