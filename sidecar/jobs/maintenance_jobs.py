"""Housekeeping: ``prune-history`` keeps what Marquee stores bounded by time and count, not by uptime.

Rules (``MARQUEE_KEEP_EVENTS_DAYS``, default 14, and ``MARQUEE_KEEP_EVENTS_MAX``, default 20,000):

- **Webhook events** that were applied (``done``) or ignored are deleted when they are older than
  ``keep_events_days`` *or* beyond the newest ``keep_events_max`` of their kind (``event_type``), whichever
  removes more. ``pending`` events are never pruned (they are still to be applied); ``rejected`` and
  ``failed`` ones stay in the admin's webhook log until the admin clears them
  (``POST /api/admin/webhook-events/clear``).
- **Job runs** that finished (done, failed, retrying, interrupted) follow the same rule per job name,
  except that the newest finished run of every job is always kept, so the Jobs page still shows when a
  weekly or manual job last ran. Running runs are never pruned (dead ones are settled by
  ``sidecar.jobs.liveness``).
- **Play events** are the watch history (statistics, Top Picks): never pruned here. Their link to the
  webhook event that brought them is set to NULL when that event goes (``ON DELETE SET NULL``).

Deletes run in batches of ``BATCH`` rows, each in its own short transaction, so the webhook receiver
never waits behind a long lock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from sidecar.jobs.progress import Progress
from sidecar.services import Services

BATCH = 5000
SETTLED = ("done", "ignored")

_EVENT_KINDS = text("SELECT DISTINCT event_type FROM webhook_event WHERE status IN ('done', 'ignored')")
# The id at the keep_events_max-th newest settled event of one kind: that one and everything older goes.
_EVENT_CAP_ID = text(
    "SELECT id FROM webhook_event WHERE status IN ('done', 'ignored') AND event_type IS NOT DISTINCT FROM :kind"
    " ORDER BY id DESC OFFSET :keep LIMIT 1"
)
_DELETE_EVENTS = text(
    """
    DELETE FROM webhook_event WHERE id IN (
        SELECT id FROM webhook_event
        WHERE status IN ('done', 'ignored') AND event_type IS NOT DISTINCT FROM :kind
          AND (id <= :cap OR received_at < :cutoff)
        ORDER BY id LIMIT :batch
    )
    """
)
_DELETE_RUNS = text(
    """
    DELETE FROM job_run WHERE id IN (
        SELECT id FROM (
            SELECT id, coalesce(finished_at, started_at) AS ended,
                   row_number() OVER (PARTITION BY job_name ORDER BY started_at DESC, id DESC) AS newest
            FROM job_run WHERE status <> 'running'
        ) ranked
        WHERE newest > 1 AND (newest > :keep OR ended < :cutoff)
        ORDER BY id LIMIT :batch
    )
    """
)


async def prune_events(services: Services, *, days: int, keep: int) -> dict[str, int]:
    """Delete settled webhook events beyond the rule; returns the count removed per kind."""
    cutoff = datetime.now(UTC) - timedelta(days=days)
    removed: dict[str, int] = {}
    async with services.engine.connect() as conn:
        kinds = [r[0] for r in await conn.execute(_EVENT_KINDS)]
    for kind in kinds:
        async with services.engine.connect() as conn:
            cap = (await conn.execute(_EVENT_CAP_ID, {"kind": kind, "keep": keep})).scalar()
        total = 0
        while True:
            async with services.engine.begin() as conn:
                result = await conn.execute(
                    _DELETE_EVENTS,
                    {"kind": kind, "cap": cap if cap is not None else 0, "cutoff": cutoff, "batch": BATCH},
                )
            count = int(getattr(result, "rowcount", 0) or 0)
            total += count
            if count < BATCH:
                break
        if total:
            removed[kind or "unknown"] = total
    return removed


async def prune_runs(services: Services, *, days: int, keep: int) -> int:
    """Delete finished job runs beyond the rule; returns how many."""
    cutoff = datetime.now(UTC) - timedelta(days=days)
    total = 0
    while True:
        async with services.engine.begin() as conn:
            result = await conn.execute(_DELETE_RUNS, {"keep": keep, "cutoff": cutoff, "batch": BATCH})
        count = int(getattr(result, "rowcount", 0) or 0)
        total += count
        if count < BATCH:
            return total


async def prune_history(services: Services, progress: Progress) -> dict[str, Any]:
    settings = services.settings
    days, keep = settings.keep_events_days, settings.keep_events_max
    events = await prune_events(services, days=days, keep=keep)
    progress.log(f"webhook events: removed {sum(events.values())} ({events or 'none'})")
    await progress.checkpoint()  # a cancelled run stops between the two
    runs = await prune_runs(services, days=days, keep=keep)
    progress.log(f"job runs: removed {runs}")
    return {"events": events, "job_runs": runs, "keep_days": days, "keep_max": keep}
