"""Nothing lost: re-queue what a dead worker, a Redis outage or a crash left behind.

Run at worker start-up (``on_worker_start``) and every minute (the ``sweep-webhooks`` job): pending
webhook events older than a few seconds are queued again (their processing is idempotent and locked,
so a duplicate job is harmless), follow-ups still requested are queued again, and the first full sync
is queued when a media server is configured and the database has never synced. At start-up the runs of
workers that died are settled first (``sidecar.jobs.liveness.reap``; the scheduler tick does it every
minute), so their jobs run again instead of waiting for arq's hour-long in-progress timeout.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sidecar.jobs.liveness import reap
from sidecar.jobs.queue import enqueue
from sidecar.services import Services
from sidecar.sync import state
from sidecar.sync.follow_up_requests import requeue_waiting
from sidecar.webhooks import store
from sidecar.webhooks.enqueue import enqueue_event

log = logging.getLogger(__name__)

PENDING_GRACE_S = 5.0
INITIAL_SYNC_JOB = "initial-sync"


@dataclass(frozen=True)
class Sweep:
    events: int
    follow_ups: int
    initial_sync: bool


async def sweep(services: Services, *, older_than_s: float = PENDING_GRACE_S) -> Sweep:
    queued = 0
    after = 0
    while ids := await store.pending_event_ids(services.engine, older_than_s=older_than_s, after_id=after):
        for event_id in ids:
            if not await enqueue_event(services.redis, event_id):
                return Sweep(queued, 0, False)  # Redis is down: the next sweep tries again
            queued += 1
        after = ids[-1]
    follow_ups = await requeue_waiting(services.redis)
    initial = False
    if services.media_server is not None and not await state.has_initial_sync(services.engine):
        initial = await enqueue(services.redis, INITIAL_SYNC_JOB, job_id=INITIAL_SYNC_JOB) is not None
    if queued or follow_ups or initial:
        # Events or the initial sync a crash left behind are news; a follow-up re-queued in passing is routine.
        level = logging.INFO if queued or initial else logging.DEBUG
        log.log(level, "sweeper queued %d webhook events, %d follow-ups, initial sync: %s", queued, follow_ups, initial)
    return Sweep(queued, follow_ups, initial)


async def on_worker_start(services: Services) -> None:
    """Worker start-up hook: dead workers' runs are settled and everything pending is queued at once, not
    after the first minute."""
    await reap(services)
    await sweep(services, older_than_s=0.0)
