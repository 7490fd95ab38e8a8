"""The admin's JSON API for jobs and webhook events, under ``/api/admin/``, and the same handlers at
Aperture's paths (``/api/jobs/...``). Every route answers 403 to anyone but a media-server administrator;
writes need the ``X-CSRF-Token`` header like the rest of the API (see ``sidecar.web.api``).
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sidecar.web import actions
from sidecar.web.auth import require_admin, services_of
from sidecar.web.json_io import body_of, ok, path_int, query_of
from sidecar.web.read_models import jobs as job_reads
from sidecar.web.read_models import webhook_events as webhook_reads
from sidecar.web.schemas import JobPatch, RunsQuery, WebhookQuery


@require_admin
async def admin_jobs(request: Request) -> Response:
    services = services_of(request)
    async with services.sessions() as session:
        jobs = await job_reads.job_definitions(session)
    queued = await actions.queued_job_names(services)
    return ok({"jobs": [{**job, "queued": job["name"] in queued} for job in jobs]})


@require_admin
async def admin_job(request: Request) -> Response:
    data = await body_of(request, JobPatch)
    async with services_of(request).sessions() as session:
        return ok(await actions.patch_job(session, str(request.path_params["name"]), data))


@require_admin
async def admin_job_run(request: Request) -> Response:
    """202 ``{"queued": true}``, or why the job did not start: 400 for an internal job, 409 when it is already
    running or queued (``reason``: internal | running | queued)."""
    name = str(request.path_params["name"])
    try:
        return ok(await actions.run_job(services_of(request), name), 202)
    except actions.JobNotStarted as exc:
        return ok({"error": str(exc), "name": name, "queued": False, "reason": exc.reason}, exc.status)


@require_admin
async def admin_runs(request: Request) -> Response:
    q = query_of(request, RunsQuery)
    async with services_of(request).sessions() as session:
        return ok({"runs": await job_reads.job_runs(session, name=q.name, active=q.active, limit=q.limit)})


@require_admin
async def admin_run(request: Request) -> Response:
    async with services_of(request).sessions() as session:
        return ok(await job_reads.get_run(session, path_int(request, "run_id")))


@require_admin
async def admin_webhook_events(request: Request) -> Response:
    q = query_of(request, WebhookQuery)
    async with services_of(request).sessions() as session:
        return ok(
            {
                "events": await webhook_reads.webhook_events(session, status=q.status, limit=q.limit),
                "counts": await webhook_reads.webhook_status_counts(session),
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
        Route("/api/admin/jobs/runs", admin_runs, methods=["GET"]),
        Route("/api/admin/jobs/runs/{run_id:id}", admin_run, methods=["GET"]),
        Route("/api/admin/jobs/{name}", admin_job, methods=["PATCH"]),
        Route("/api/admin/jobs/{name}/run", admin_job_run, methods=["POST"]),
        Route("/api/admin/webhook-events", admin_webhook_events, methods=["GET"]),
        Route("/api/admin/webhook-events/clear", admin_clear_webhook_events, methods=["POST"]),
    ]
