"""Publishing jobs (AI Picks for everyone, Top Picks) and the per-user publishing follow-up stage."""

from __future__ import annotations

import logging
from typing import Any

from sidecar.jobs.progress import Progress
from sidecar.media_types import MEDIA_TYPES
from sidecar.publish.ai_picks import publish_everyone, publish_user
from sidecar.publish.top_picks import refresh_top_picks_for
from sidecar.services import Services

log = logging.getLogger(__name__)


async def _sync(services: Services, progress: Progress, media_type: str) -> dict[str, Any]:
    report = await publish_everyone(services, media_type, progress)
    report.raise_failures()
    return report.as_dict()


async def sync_movie_libraries(services: Services, progress: Progress) -> dict[str, Any]:
    return await _sync(services, progress, "movies")


async def sync_series_libraries(services: Services, progress: Progress) -> dict[str, Any]:
    return await _sync(services, progress, "series")


async def refresh_top_picks(
    services: Services, progress: Progress, media_types: list[str] | None = None
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for media_type in media_types or MEDIA_TYPES:
        await progress.checkpoint()  # a cancelled run stops between media types
        results[media_type] = (await refresh_top_picks_for(services, media_type, progress)).as_dict()
    return results


async def publish_followup(services: Services, user_id: int, media_types: frozenset[str], progress: Progress) -> None:
    """After a user's recommendations changed: rewrite only that user's libraries."""
    report = await publish_user(services, user_id, media_types, progress)
    for outcome in report.outcomes:
        if outcome.written or outcome.removed:
            left = f", {outcome.removed} left" if outcome.removed else ""
            log.info("republished %s: %d titles%s", outcome.library, outcome.titles, left)
    for name in report.removed:
        log.info("removed %s", name)
    report.raise_failures()
