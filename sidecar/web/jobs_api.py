"""The admin's JSON API for jobs and webhook events, under ``/api/admin/``, and Aperture's job paths with the
same handlers (``/api/jobs``, ``/api/jobs/active``, ``/api/jobs/{name}/run|cancel|config|history``; the
progress stream ``/api/jobs/progress/stream/{id}`` is in ``sidecar.web.job_events``). Every route
answers 403 to anyone but a media-server administrator; writes need the ``X-CSRF-Token`` header like the rest
of the API (see ``sidecar.web.api``). Job names may be Aperture's (``full-sync-watch-history``): answers name
Marquee's job.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sidecar.jobs import control, untracked
from sidecar.jobs.registry import load_jobs
from sidecar.services import Services
from sidecar.web import actions, job_events
from sidecar.web.auth import require_admin, services_of
from sidecar.web.json_io import body_of, ok, path_int, query_of
from sidecar.web.read_models import jobs as job_reads
from sidecar.web.read_models import webhook_events as webhook_reads
from sidecar.web.schemas import JobPatch, RunsQuery, WebhookQuery


async def job_list(services: Services) -> list[dict[str, Any]]:
    """Every job with its latest run, whether it is queued, internal (no "Run now") and its aliases."""
    specs = load_jobs()
    async with services.sessions() as session:
        jobs = await job_reads.job_definitions(session, await untracked.last_runs(services.redis))
    queued = await control.queued_job_names(services)
    return [
        {
            **job,
            "queued": job["name"] in queued,
            "internal": job["name"] in specs and not specs[job["name"]].manual,
            "aliases": list(specs[job["name"]].aliases) if job["name"] in specs else [],
        }
        for job in jobs
    ]


@require_admin
async def admin_jobs(request: Request) -> Response:
    return ok({"jobs": await job_list(services_of(request)), "disabling": control.DISABLED_NOTE})


@require_admin
async def admin_job(request: Request) -> Response:
    """Schedule and on/off; turning a job off cancels its run in progress (the answer's ``cancelled``)."""
    data = await body_of(request, JobPatch)
    fields = data.model_fields_set
    return ok(
        await control.set_job(
            services_of(request),
            str(request.path_params["name"]),
            schedule=data.schedule,
            set_schedule="schedule" in fields,
            enabled=data.enabled if "enabled" in fields else None,
        )
    )


@require_admin
async def admin_job_run(request: Request) -> Response:
    """202 ``{"queued": true}``, or why the job did not start: 400 for an internal job, 409 when it is already
    running or queued (``reason``: internal | running | queued)."""
    name = str(request.path_params["name"])
    try:
        return ok(await control.run_job(services_of(request), name), 202)
    except control.JobNotStarted as exc:
        return ok({"error": str(exc), "name": exc.name, "queued": False, "reason": exc.reason}, exc.status)


@require_admin
async def admin_job_cancel(request: Request) -> Response:
    """Stop the job's run and drop it from the queue. 200 with each run's status once it ended (within
    ``control.CANCEL_WAIT_S``; "running" means told to stop and still finishing its step), 409 when nothing
    runs or waits, 400 for an internal job."""
    name = str(request.path_params["name"])
    try:
        return ok(await control.cancel_job(services_of(request), name))
    except control.JobNotRunning as exc:
        return ok({"error": str(exc), "name": exc.name, "runs": [], "dequeued": []}, exc.status)


@require_admin
async def active_runs(request: Request) -> Response:
    """Aperture's ``GET /api/jobs/active``: the runs in progress, each naming its job."""
    async with services_of(request).sessions() as session:
        return ok({"runs": await job_reads.job_runs(session, name=None, active=True, limit=50)})


@require_admin
async def job_config(request: Request) -> Response:
    """Aperture's ``GET /api/jobs/{name}/config``: the schedule and whether the job is on."""
    spec = control.resolve(str(request.path_params["name"]))
    async with services_of(request).sessions() as session:
        definition = await job_reads.get_job(session, spec.name)
    return ok({"name": definition.name, "schedule": definition.schedule, "enabled": definition.enabled})


@require_admin
async def job_history(request: Request) -> Response:
    """Aperture's ``GET /api/jobs/{name}/history``: the job's runs, newest first (``?limit=``, default 50)."""
    q = query_of(request, RunsQuery)
    spec = control.resolve(str(request.path_params["name"]))
    async with services_of(request).sessions() as session:
        await job_reads.get_job(session, spec.name)
        return ok(
            {"name": spec.name, "runs": await job_reads.job_runs(session, name=spec.name, active=False, limit=q.limit)}
        )


@require_admin
async def admin_runs(request: Request) -> Response:
    q = query_of(request, RunsQuery)
    name = control.resolve(q.name).name if q.name is not None else None
    async with services_of(request).sessions() as session:
        return ok({"runs": await job_reads.job_runs(session, name=name, active=q.active, limit=q.limit)})


@require_admin
async def admin_run(request: Request) -> Response:
    async with services_of(request).sessions() as session:
        return ok(await job_reads.get_run(session, path_int(request, "run_id")))


@require_admin
async def admin_webhook_events(request: Request) -> Response:
    """Newest first, ``limit``/``offset`` paged with ``total``; ``type`` filters by event type, ``own=true``
    includes Marquee's own copies (hidden by default, counted in ``own_copies``)."""
    q = query_of(request, WebhookQuery)
    async with services_of(request).sessions() as session:
        return ok(
            {
                "events": await webhook_reads.webhook_events(
                    session, limit=q.limit, offset=q.offset, status=q.status, event_type=q.type, own=q.own
                ),
                "total": await webhook_reads.webhook_total(session, status=q.status, event_type=q.type, own=q.own),
                "limit": q.limit,
                "offset": q.offset,
                "counts": await webhook_reads.webhook_status_counts(session),
                "types": await webhook_reads.webhook_type_counts(session),
                "own_copies": await webhook_reads.own_copy_count(session),
            }
        )


@require_admin
async def admin_clear_webhook_events(request: Request) -> Response:
    """Delete the rejected and failed events (``?status=`` one of them only); retention never does."""
    status = request.query_params.get("status") or None
    if status not in (None, "rejected", "failed"):
        raise HTTPException(422, "status: clear 'rejected' or 'failed' events (or both, without status)")
    async with services_of(request).sessions() as session:
        return ok({"cleared": await actions.clear_failed_webhooks(session, status)})


def routes() -> list[BaseRoute]:
    return [
        Route("/api/admin/jobs", admin_jobs, methods=["GET"]),
        *job_events.routes(),  # /api/admin/jobs/events, /api/admin/jobs/runs/{id}/events, Aperture's stream
        Route("/api/admin/jobs/runs", admin_runs, methods=["GET"]),
        Route("/api/admin/jobs/runs/{run_id:id}", admin_run, methods=["GET"]),
        Route("/api/admin/jobs/{name}", admin_job, methods=["PATCH"]),
        Route("/api/admin/jobs/{name}/run", admin_job_run, methods=["POST"]),
        Route("/api/admin/jobs/{name}/cancel", admin_job_cancel, methods=["POST"]),
        # Aperture's paths, the same handlers
        Route("/api/jobs", admin_jobs, methods=["GET"]),
        Route("/api/jobs/active", active_runs, methods=["GET"]),
        Route("/api/jobs/{name}/run", admin_job_run, methods=["POST"]),
        Route("/api/jobs/{name}/cancel", admin_job_cancel, methods=["POST"]),
        Route("/api/jobs/{name}/config", job_config, methods=["GET"]),
        Route("/api/jobs/{name}/config", admin_job, methods=["PATCH"]),
        Route("/api/jobs/{name}/history", job_history, methods=["GET"]),
        Route("/api/admin/webhook-events", admin_webhook_events, methods=["GET"]),
        Route("/api/admin/webhook-events/clear", admin_clear_webhook_events, methods=["POST"]),
    ]
