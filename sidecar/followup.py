"""What runs for one user after their watch state changed (the webhook follow-up job).

Feature modules register stages: recommendations (stage 10) recompute the user's picks, publishing
(stage 20) rewrites that user's libraries. The ``user-follow-up`` job (one queued per user, so a burst of
webhooks collapses into one run) calls ``run_followups``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Collection
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sidecar.jobs.progress import Progress
    from sidecar.services import Services

log = logging.getLogger(__name__)

MEDIA_TYPES = ("movies", "series")

FollowUpHook = Callable[["Services", int, frozenset[str], "Progress"], Awaitable[None]]

_hooks: list[tuple[int, str, FollowUpHook]] = []


def register_followup(stage: int, name: str) -> Callable[[FollowUpHook], FollowUpHook]:
    """Register ``hook(services, user_id, media_types, progress)`` to run at ``stage`` (lower first)."""

    def decorate(hook: FollowUpHook) -> FollowUpHook:
        _hooks[:] = [h for h in _hooks if h[1] != name]
        _hooks.append((stage, name, hook))
        _hooks.sort(key=lambda h: h[0])
        return hook

    return decorate


def registered_followups() -> list[str]:
    return [name for _, name, _ in _hooks]


async def run_followups(
    services: Services, user_id: int, media_types: Collection[str], progress: Progress
) -> list[str]:
    """Run every stage in order; return the names that ran."""
    types = frozenset(media_types) & frozenset(MEDIA_TYPES)
    ran: list[str] = []
    if not types:
        return ran
    for _, name, hook in list(_hooks):
        started = time.perf_counter()
        await hook(services, user_id, types, progress)
        progress.log(f"{name}: {(time.perf_counter() - started) * 1000:.0f} ms")
        ran.append(name)
    return ran
