"""The admin's JSON API for jobs and webhook events, under ``/api/admin/``, and Aperture's job paths with the
same handlers (``/api/jobs``, ``/api/jobs/active``, ``/api/jobs/{name}/run|cancel|config|history``; the
progress streams' handlers are in ``sidecar.web.job_events``, declared here). Every endpoint is for
media-server administrators (``access="admin"``, enforced by ``api_spec.routes_of``). Job names may be
Aperture's (``full-sync-watch-history``): answers name Marquee's job.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sidecar.jobs import control, untracked
from sidecar.jobs.registry import load_jobs
from sidecar.services import Services
from sidecar.web import actions, job_events
from sidecar.web import api_models as m
from sidecar.web.api_spec import Endpoint, Handler, Method, error_body
from sidecar.web.auth import services_of
from sidecar.web.json_io import body_of, ok, path_int, query_of
from sidecar.web.read_models import jobs as job_reads
from sidecar.web.read_models import webhook_events as webhook_reads
from sidecar.web.schemas import ClearWebhooksQuery, JobPatch, RunsQuery, WebhookQuery


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


async def admin_jobs(request: Request) -> Response:
    return ok({"jobs": await job_list(services_of(request)), "disabling": control.DISABLED_NOTE})


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


async def admin_job_run(request: Request) -> Response:
    """202 ``{"queued": true}``, or why the job did not start: 400 for an internal job, 409 when it is already
    running or queued (``reason``: internal | running | queued)."""
    name = str(request.path_params["name"])
    try:
        return ok(await control.run_job(services_of(request), name), 202)
    except control.JobNotStarted as exc:
        return ok(
            {**error_body(exc.status, str(exc)), "name": exc.name, "queued": False, "reason": exc.reason}, exc.status
        )


async def admin_job_cancel(request: Request) -> Response:
    """Stop the job's run and drop it from the queue. 200 with each run's status once it ended (within
    ``control.CANCEL_WAIT_S``; "running" means told to stop and still finishing its step), 409 when nothing
    runs or waits, 400 for an internal job."""
    name = str(request.path_params["name"])
    try:
        return ok(await control.cancel_job(services_of(request), name))
    except control.JobNotRunning as exc:
        return ok({**error_body(exc.status, str(exc)), "name": exc.name, "runs": [], "dequeued": []}, exc.status)


async def active_runs(request: Request) -> Response:
    """Aperture's ``GET /api/jobs/active``: the runs in progress, each naming its job."""
    async with services_of(request).sessions() as session:
        return ok({"runs": await job_reads.job_runs(session, name=None, active=True, limit=50)})


async def job_config(request: Request) -> Response:
    """Aperture's ``GET /api/jobs/{name}/config``: the schedule and whether the job is on."""
    spec = control.resolve(str(request.path_params["name"]))
    async with services_of(request).sessions() as session:
        definition = await job_reads.get_job(session, spec.name)
    return ok({"name": definition.name, "schedule": definition.schedule, "enabled": definition.enabled})


async def job_history(request: Request) -> Response:
    """Aperture's ``GET /api/jobs/{name}/history``: the job's runs, newest first (``?limit=``, default 50)."""
    q = query_of(request, RunsQuery)
    spec = control.resolve(str(request.path_params["name"]))
    async with services_of(request).sessions() as session:
        await job_reads.get_job(session, spec.name)
        return ok(
            {"name": spec.name, "runs": await job_reads.job_runs(session, name=spec.name, active=False, limit=q.limit)}
        )


async def admin_runs(request: Request) -> Response:
    q = query_of(request, RunsQuery)
    name = control.resolve(q.name).name if q.name is not None else None
    async with services_of(request).sessions() as session:
        return ok({"runs": await job_reads.job_runs(session, name=name, active=q.active, limit=q.limit)})


async def admin_run(request: Request) -> Response:
    async with services_of(request).sessions() as session:
        return ok(await job_reads.get_run(session, path_int(request, "run_id")))


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


async def admin_clear_webhook_events(request: Request) -> Response:
    """Delete the rejected and failed events (``?status=`` one of them only); retention never does."""
    q = query_of(request, ClearWebhooksQuery)
    async with services_of(request).sessions() as session:
        return ok({"cleared": await actions.clear_failed_webhooks(session, q.status)})


def _admin(method: Method, path: str, handler: Handler, summary: str, **more: Any) -> Endpoint:
    return Endpoint(method, path, handler, summary, "jobs", access="admin", **more)


_JOB = {"name": str}
_STREAM = {"media_type": "text/event-stream"}

ENDPOINTS: list[Endpoint] = [
    _admin("GET", "/api/admin/jobs", admin_jobs, "Every job with its schedule and latest run", response=m.Jobs),
    _admin(
        "GET",
        "/api/admin/jobs/events",
        job_events.active_events,
        "Server-sent events: the running jobs whenever they change",
        **_STREAM,
    ),
    _admin("GET", "/api/admin/jobs/runs", admin_runs, "Job runs, newest first", query=RunsQuery, response=m.JobRuns),
    _admin("GET", "/api/admin/jobs/runs/{run_id:id}", admin_run, "One job run", response=m.JobRun),
    _admin(
        "GET",
        "/api/admin/jobs/runs/{run_id:id}/events",
        job_events.run_events,
        "Server-sent events: one run's progress until it ends",
        **_STREAM,
    ),
    _admin(
        "PATCH",
        "/api/admin/jobs/{name}",
        admin_job,
        "A job's schedule and on/off",
        body=JobPatch,
        response=m.JobConfig,
        params=_JOB,
    ),
    _admin(
        "POST",
        "/api/admin/jobs/{name}/run",
        admin_job_run,
        "Run a job now (queued)",
        response=m.JobQueued,
        status=202,
        params=_JOB,
    ),
    _admin(
        "POST",
        "/api/admin/jobs/{name}/cancel",
        admin_job_cancel,
        "Stop a job's run and unqueue it",
        response=m.JobCancelled,
        params=_JOB,
    ),
    # Aperture's paths, the same handlers
    _admin("GET", "/api/jobs", admin_jobs, "Every job (Aperture's path)", response=m.Jobs),
    _admin("GET", "/api/jobs/active", active_runs, "The runs in progress", response=m.JobRuns),
    _admin(
        "GET",
        "/api/jobs/progress/stream/{run_id:id}",
        job_events.run_events,
        "Server-sent events: one run's progress (Aperture's path)",
        **_STREAM,
    ),
    _admin(
        "POST",
        "/api/jobs/{name}/run",
        admin_job_run,
        "Run a job now (Aperture's path)",
        response=m.JobQueued,
        status=202,
        params=_JOB,
    ),
    _admin(
        "POST",
        "/api/jobs/{name}/cancel",
        admin_job_cancel,
        "Cancel a job (Aperture's path)",
        response=m.JobCancelled,
        params=_JOB,
    ),
    _admin(
        "GET", "/api/jobs/{name}/config", job_config, "A job's schedule and on/off", response=m.JobConfig, params=_JOB
    ),
    _admin(
        "PATCH",
        "/api/jobs/{name}/config",
        admin_job,
        "Change a job's schedule and on/off",
        body=JobPatch,
        response=m.JobConfig,
        params=_JOB,
    ),
    _admin(
        "GET",
        "/api/jobs/{name}/history",
        job_history,
        "A job's runs, newest first",
        query=RunsQuery,
        response=m.NamedJobRuns,
        params=_JOB,
    ),
    _admin(
        "GET",
        "/api/admin/webhook-events",
        admin_webhook_events,
        "The webhook log, newest first (filter by status and type, paged)",
        query=WebhookQuery,
        response=m.WebhookEvents,
    ),
    _admin(
        "POST",
        "/api/admin/webhook-events/clear",
        admin_clear_webhook_events,
        "Delete the rejected and failed webhook events",
        query=ClearWebhooksQuery,
        response=m.Cleared,
    ),
]
