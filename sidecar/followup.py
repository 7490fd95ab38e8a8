"""What runs for one user after their watch state changed (the webhook follow-up job).

``FOLLOW_UP_STAGES`` lists the stages in the order they run: ``recommend`` recomputes the user's picks,
then ``publish`` rewrites that user's libraries. The ``user-follow-up`` job (one queued per user, so a
burst of webhooks collapses into one run) calls ``run_followups``; a test passes the stages it wants.
A ``publish:<media type>`` request (a renamed library, changed explanations) runs only the
``REPUBLISH_STAGES`` for that type.
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
from sidecar.sync.follow_up_requests import REPUBLISH_PREFIX

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
REPUBLISH_STAGES = frozenset({"publish"})


def split_requests(requests: Collection[str]) -> tuple[frozenset[str], frozenset[str]]:
    """``(full, republish_only)`` media types: a type asked for in full needs no separate republish."""
    known = frozenset(MEDIA_TYPES)
    full = frozenset(requests) & known
    republish = frozenset(r.removeprefix(REPUBLISH_PREFIX) for r in requests if r.startswith(REPUBLISH_PREFIX))
    return full, (republish & known) - full


async def run_followups(
    services: Services,
    user_id: int,
    media_types: Collection[str],
    progress: Progress,
    stages: FollowUpStages = FOLLOW_UP_STAGES,
) -> list[str]:
    """Run ``stages`` in order for the requests in ``media_types`` (see ``split_requests``); return the
    names that ran."""
    full, republish = split_requests(media_types)
    ran: list[str] = []
    for name, stage in stages:
        types = full | republish if name in REPUBLISH_STAGES else full
        if not types:
            continue
        started = time.perf_counter()
        await stage(services, user_id, types, progress)
        progress.log(f"{name}: {(time.perf_counter() - started) * 1000:.0f} ms")
        ran.append(name)
    return ran
