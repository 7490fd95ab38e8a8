"""``JOBS``: every job Marquee knows, in one tuple — the worker runs these, the admin page and
``marquee run-job`` list them. A job not listed here does not exist.

Job modules hold plain coroutines ``async def job(services, progress, **kwargs) -> dict | None``; this
module names them, describes them and gives their default schedule (see ``sidecar.jobs.registry``).
Where Aperture calls a job differently, its name is an alias of ours (``aliases``): the API and the pages
accept either and answer with ours.
"""

from __future__ import annotations

from sidecar import embedding_switch
from sidecar.jobs import (
    channel_jobs,
    embed_jobs,
    evaluate_jobs,
    maintenance_jobs,
    publish_jobs,
    recommend_jobs,
    sync_jobs,
    webhook_jobs,
)
from sidecar.jobs.registry import JobSpec
from sidecar.sync.follow_up_requests import FOLLOW_UP_JOB
from sidecar.webhooks.enqueue import PROCESS_JOB

JOBS: tuple[JobSpec, ...] = (
    # sync
    JobSpec("sync-users", sync_jobs.sync_users_job, "Read the media server's users."),
    JobSpec(
        "sync-libraries",
        sync_jobs.sync_libraries_job,
        "Read the media server's libraries (Marquee's own output libraries are never sources).",
    ),
    JobSpec(
        "sync-movies", sync_jobs.sync_movies_job, "Read every movie of the enabled libraries; mark removed ones gone."
    ),
    JobSpec(
        "sync-series",
        sync_jobs.sync_series_job,
        "Read every series, season and episode of the enabled libraries; mark removed ones gone.",
    ),
    JobSpec(
        "sync-catalogue",
        sync_jobs.sync_catalogue_job,
        "Users, libraries, movies and series in one run (catches items whose webhook never came).",
        schedule="daily:02:30",
    ),
    JobSpec(
        "sync-watch-history",
        sync_jobs.sync_watch_history_job,
        "Reconcile every user's watch history, movies and series, with the server (delta since the last run;"
        " full=true re-reads all).",
        schedule="interval:60",
        aliases=("sync-series-watch-history",),
    ),
    JobSpec(
        "sync-watch-history-full",
        sync_jobs.sync_watch_history_full_job,
        "Re-read every user's whole watch history, movies and series, and drop what the server no longer has.",
        aliases=("full-sync-watch-history", "full-sync-series-watch-history"),
    ),
    JobSpec(
        "initial-sync",
        sync_jobs.initial_sync_job,
        "The first full sync: users, libraries, movies, series, then every user's watch history.",
    ),
    # webhooks
    JobSpec(
        PROCESS_JOB,
        webhook_jobs.process_webhook_event,
        "Apply one stored webhook event using the server's current data.",
        track=False,
        max_tries=5,
        manual=False,
    ),
    JobSpec(
        FOLLOW_UP_JOB,
        webhook_jobs.user_follow_up,
        "After a user's watch state changed: refresh their picks and libraries.",
        manual=False,
    ),
    JobSpec(
        "sweep-webhooks",
        webhook_jobs.sweep_webhooks,
        "Queue webhook events and follow-ups whose job was lost; queue the first sync if none ever ran.",
        schedule="interval:1",
        track=False,
    ),
    # embeddings
    JobSpec(
        "generate-embeddings",
        embed_jobs.generate_embeddings,
        "Embed new and changed movies (only what changed since the last run).",
        schedule="daily:03:00",
    ),
    JobSpec(
        "generate-series-embeddings",
        embed_jobs.generate_series_embeddings,
        "Embed new and changed series from their series-level metadata.",
        schedule="daily:03:10",
    ),
    JobSpec(
        embedding_switch.SWITCH_JOB,
        embedding_switch.switch_embedding_model,
        "Embed every title with the embedding model chosen on Admin → Models, then switch picks to it.",
    ),
    # recommendations
    JobSpec(
        "generate-recommendations",
        recommend_jobs.generate_recommendations,
        "Recompute every enabled user's movie picks from the current catalogue and histories.",
        schedule="daily:04:00",
    ),
    JobSpec(
        "generate-series-recommendations",
        recommend_jobs.generate_series_recommendations,
        "Recompute every enabled user's series picks (a series being watched is never a pick).",
        schedule="daily:04:15",
    ),
    JobSpec(
        "rebuild-recommendations",
        recommend_jobs.rebuild_recommendations,
        "Clear all picks and rebuild them from a full re-read of the catalogue (after changing models or weights).",
    ),
    JobSpec(
        "evaluate-server",
        evaluate_jobs.evaluate_server_job,
        "Measure the picks on this server's users (each one's last 5 plays held out): Marquee vs popularity vs"
        " content-only, shown on Admin → Quality.",
    ),
    # publishing
    JobSpec(
        "sync-movie-libraries",
        publish_jobs.sync_movie_libraries,
        "Write every user's AI Picks movie library, refresh it, and remove libraries nobody owns.",
        schedule="daily:04:30",
    ),
    JobSpec(
        "sync-series-libraries",
        publish_jobs.sync_series_libraries,
        "Write every user's AI Picks series library, refresh it, and remove libraries nobody owns.",
        schedule="daily:04:45",
    ),
    JobSpec(
        "refresh-top-picks",
        publish_jobs.refresh_top_picks,
        "Rank the server's most watched titles and publish the Top Picks library, collection and playlist.",
        schedule="daily:05:00",
    ),
    JobSpec(
        "refresh-channels",
        channel_jobs.refresh_channels_job,
        "Refill every channel from its criteria and rewrite the playlists of those synced to the server.",
        schedule="interval:60",
    ),
    # maintenance
    JobSpec(
        "prune-history",
        maintenance_jobs.prune_history,
        "Forget applied/ignored webhook events and finished job runs older than the retention"
        " (MARQUEE_KEEP_EVENTS_DAYS) or beyond the newest MARQUEE_KEEP_EVENTS_MAX per kind; rejected and failed"
        " events stay until cleared.",
        schedule="daily:03:30",
    ),
)
