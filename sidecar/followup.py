"""What runs for one user after their watch state changed (the webhook follow-up job).

``FOLLOW_UP_STAGES`` lists the stages in the order they run: ``recommend`` recomputes the user's picks,
then ``publish`` rewrites that user's libraries. The ``user-follow-up`` job (one queued per user, so a
burst of webhooks collapses into one run) calls ``run_followups``; a test passes the stages it wants.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Collection
from typing import TYPE_CHECKING

from sidecar.channel_refresh import refresh_after_watch as refresh_channels_after_watch
from sidecar.jobs.publish_jobs import publish_followup
from sidecar.jobs.recommend_jobs import refresh_after_watch
from sidecar.media_types import MEDIA_TYPES

if TYPE_CHECKING:
    from sidecar.jobs.progress import Progress
    from sidecar.services import Services

log = logging.getLogger(__name__)

FollowUpHook = Callable[["Services", int, frozenset[str], "Progress"], Awaitable[None]]
FollowUpStages = tuple[tuple[str, FollowUpHook], ...]

# (name, stage(services, user_id, media_types, progress)), in the order they run.
FOLLOW_UP_STAGES: FollowUpStages = (
    ("recommend", refresh_after_watch),
    ("publish", publish_followup),
    ("channels", refresh_channels_after_watch),
)


async def run_followups(
    services: Services,
    user_id: int,
    media_types: Collection[str],
    progress: Progress,
    stages: FollowUpStages = FOLLOW_UP_STAGES,
) -> list[str]:
    """Run ``stages`` in order; return the names that ran."""
    types = frozenset(media_types) & frozenset(MEDIA_TYPES)
    ran: list[str] = []
    if not types:
        return ran
    for name, stage in stages:
        started = time.perf_counter()
        await stage(services, user_id, types, progress)
        progress.log(f"{name}: {(time.perf_counter() - started) * 1000:.0f} ms")
        ran.append(name)
    return ran
