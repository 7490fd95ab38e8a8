"""Webhook jobs: apply one stored event, the per-user follow-up, and the sweeper."""

from __future__ import annotations

from typing import Any

from sidecar.followup import FOLLOW_UP_STAGES, FollowUpStages, run_followups
from sidecar.jobs.progress import Progress
from sidecar.jobs.queue import enqueue
from sidecar.media_types import spec
from sidecar.services import Services
from sidecar.sync.follow_up_requests import (
    ensure_waiting_job,
    follow_up_lock,
    request_follow_up,
    start_taking,
    take_requests,
)
from sidecar.webhooks.apply import process_event
from sidecar.webhooks.sweeper import sweep

MAX_FOLLOW_UP_ROUNDS = 20


async def process_webhook_event(services: Services, progress: Progress, event_id: int) -> dict[str, Any]:
    outcome = await process_event(services, event_id)
    if outcome.user_id is not None and outcome.media_types:
        await request_follow_up(services.redis, outcome.user_id, outcome.media_types)
    if outcome.new_items:
        for media_type in outcome.media_types:
            name = spec(media_type).embed_job
            await enqueue(services.redis, name, job_id=name)
    return outcome.as_dict()


async def user_follow_up(
    services: Services, progress: Progress, user_id: int, *, stages: FollowUpStages = FOLLOW_UP_STAGES
) -> dict[str, Any]:
    """Run the follow-up stages for every request taken for ``user_id`` (a test binds its own ``stages``)."""
    rounds: list[dict[str, Any]] = []
    async with follow_up_lock(services.engine, user_id):
        await start_taking(services.redis, user_id)
        # Requests that arrive while a round runs are taken by the next round.
        for _ in range(MAX_FOLLOW_UP_ROUNDS):
            media_types = await take_requests(services.redis, user_id)
            if not media_types:
                break
            ran = await run_followups(services, user_id, media_types, progress, stages)
            rounds.append({"media_types": sorted(media_types), "stages": ran})
            progress.log(f"user {user_id}: {sorted(media_types)} → {ran or 'no stages'}")
        else:
            await ensure_waiting_job(services.redis, user_id)  # still busy: the rest goes to a fresh job
    return {"user_id": user_id, "rounds": rounds}


async def sweep_webhooks(services: Services, progress: Progress) -> dict[str, Any]:
    result = await sweep(services)
    return {"events": result.events, "follow_ups": result.follow_ups, "initial_sync": result.initial_sync}
