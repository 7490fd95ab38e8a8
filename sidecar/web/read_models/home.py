"""The home dashboard of one user: quick stats, taste cards, picks, recently watched and Top Picks;
for an administrator also the system's health (jobs running, last sync, webhooks).

Every figure comes from the read model of the page it summarises (watch stats, picks, history, taste,
Top Picks, jobs, webhooks), so the home page and those pages never disagree.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from sidecar.db.models import JobRun, WebhookEvent
from sidecar.media_types import MEDIA_TYPES
from sidecar.web.read_models import picks as pick_reads
from sidecar.web.read_models import taste as taste_reads
from sidecar.web.read_models import top_picks as top_pick_reads
from sidecar.web.read_models.history import load_history
from sidecar.web.read_models.shared import iso
from sidecar.web.read_models.watch_stats import load_watch_stats

CAROUSEL = 12
RECENT = 8
TEASER = 5
SYNC_JOBS = (
    "initial-sync",
    "sync-catalogue",
    "sync-movies",
    "sync-series",
    "sync-watch-history",
    "sync-watch-history-full",
)
WEBHOOK_QUIET = timedelta(days=2)  # no webhook for this long while plays happen: probably not set up


async def quick_stats(session: AsyncSession, user_id: int) -> dict[str, Any]:
    """The watch-stats page's own summary for both media types, and the picks waiting."""
    movies = await load_watch_stats(session, user_id, "movies")
    series = await load_watch_stats(session, user_id, "series")
    picks = {mt: await pick_reads.picks(session, user_id, mt) for mt in MEDIA_TYPES}
    return {
        "movies_watched": movies["summary"]["titles"],
        "series_watched": series["summary"]["titles"],
        "episodes_watched": series["summary"]["plays"],
        "favourites": movies["summary"]["favourites"] + series["summary"]["favourites"],
        "hours": round(movies["summary"]["hours"] + series["summary"]["hours"], 1),
        "picks_available": sum(len(p["picks"]) for p in picks.values()),
        "_picks": picks,
    }


async def system_health(session: AsyncSession) -> dict[str, Any]:
    """For administrators only: jobs running now, the last finished sync, and webhook traffic."""
    running = (
        await session.exec(
            select(JobRun.job_name, JobRun.progress_current, JobRun.progress_total)
            .where(col(JobRun.status).in_(["running", "retrying"]))
            .order_by(col(JobRun.started_at))
        )
    ).all()
    last_sync = (
        await session.exec(
            select(JobRun)
            .where(col(JobRun.job_name).in_(SYNC_JOBS), col(JobRun.finished_at).is_not(None))
            .order_by(col(JobRun.finished_at).desc(), col(JobRun.id).desc())
            .limit(1)
        )
    ).first()
    last_webhook = (await session.exec(select(func.max(WebhookEvent.received_at)))).one()
    since = datetime.now(UTC) - timedelta(days=1)
    by_status = dict(
        (
            await session.exec(
                select(WebhookEvent.status, func.count())
                .where(col(WebhookEvent.received_at) >= since)
                .group_by(WebhookEvent.status)
            )
        ).all()
    )
    failed = int(by_status.get("failed", 0)) + int(by_status.get("rejected", 0))
    if last_webhook is None:
        webhooks = "none received yet"
        webhook_state = "warn"
    elif datetime.now(UTC) - last_webhook > WEBHOOK_QUIET:
        webhooks = "quiet for more than two days"
        webhook_state = "warn"
    else:
        webhooks = "failing" if failed else "receiving"
        webhook_state = "bad" if failed else "ok"
    return {
        "running": [{"name": name, "pct": round(100 * cur / total) if total else None} for name, cur, total in running],
        "last_sync": {
            "job": last_sync.job_name,
            "status": last_sync.status,
            "finished_at": iso(last_sync.finished_at),
        }
        if last_sync is not None
        else None,
        "webhooks": webhooks,
        "webhook_state": webhook_state,
        "last_webhook_at": iso(last_webhook),
        "webhooks_24h": sum(int(v) for v in by_status.values()),
        "webhooks_failed_24h": failed,
    }


async def home_dashboard(session: AsyncSession, user_id: int, *, is_admin: bool) -> dict[str, Any]:
    stats = await quick_stats(session, user_id)
    picks = stats.pop("_picks")
    recent = {mt: await load_history(session, user_id, mt, "recent", RECENT) for mt in MEDIA_TYPES}
    return {
        "stats": stats,
        "taste": await taste_reads.taste_profiles(session, user_id),
        "carousels": {mt: picks[mt]["picks"][:CAROUSEL] for mt in MEDIA_TYPES},
        "recent": recent,
        "top_picks": {mt: (await top_pick_reads.top_picks(session, mt))[:TEASER] for mt in MEDIA_TYPES},
        "health": await system_health(session) if is_admin else None,
    }
