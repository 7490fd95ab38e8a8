"""Embedding jobs: movies and series whose embedding text changed are embedded and stored."""

from __future__ import annotations

from typing import Any

from sidecar.ai_factory import get_embedder, pricing_model
from sidecar.embeddings import embed_items
from sidecar.jobs.progress import Progress
from sidecar.jobs.recommend_jobs import queue_recommend_and_publish
from sidecar.media_types import MediaType
from sidecar.services import Services
from sidecar.sync import state


async def _run(
    services: Services, progress: Progress, media_type: MediaType, retry_failed: bool, then_recommend: bool
) -> dict[str, Any]:
    report = await embed_items(
        services,
        get_embedder(services),
        media_type,
        progress,
        pricing_model=pricing_model(services.settings),
        retry_failed=retry_failed,
    )
    # New or changed items become candidates for everyone, and the first picks get refined by the vectors. Not
    # before the first sync has finished: it queues the first picks itself, once the histories are in.
    if then_recommend and report.embedded and await state.has_initial_sync(services.engine):
        await queue_recommend_and_publish(services, [media_type])
    return report.as_dict()


async def generate_embeddings(
    services: Services, progress: Progress, retry_failed: bool = False, then_recommend: bool = True
) -> dict[str, Any]:
    return await _run(services, progress, MediaType.MOVIES, retry_failed, then_recommend)


async def generate_series_embeddings(
    services: Services, progress: Progress, retry_failed: bool = False, then_recommend: bool = True
) -> dict[str, Any]:
    return await _run(services, progress, MediaType.SERIES, retry_failed, then_recommend)
