"""The admin's job pages (schedules, run now, cancel, live progress, history) and the webhook event log.

Everyone but a media-server administrator gets 403. The JSON twins of these pages are in
``sidecar.web.jobs_api``.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sidecar.errors import InvalidInput
from sidecar.jobs.registry import load_jobs
from sidecar.web import actions, auth
from sidecar.web.auth import require_admin, services_of
from sidecar.web.read_models import jobs as job_reads
from sidecar.web.read_models import webhook_events as webhook_reads
from sidecar.web.rendering import checkbox, render, see_other
from sidecar.web.schemas import JobPatch, parse

_HHMM = re.compile(r"\d\d:\d\d")


def _not_started(request: Request) -> str | None:
    """The notice after a "Run now" that did not start (from the redirect's query, validated)."""
    name = request.query_params.get("not_started")
    reason = request.query_params.get("reason")
    since = request.query_params.get("since")
    if not name or reason not in actions.NOT_STARTED_REASONS:
        return None
    return actions.not_started_message(name, reason, since if since and _HHMM.fullmatch(since) else None)


async def _jobs_page(request: Request, *, error: str | None = None, status: int = 200) -> Response:
    services = services_of(request)
    async with services.sessions() as session:
        jobs = await job_reads.job_definitions(session)
        running = await job_reads.job_runs(session, name=None, active=True, limit=50)
    queued = await actions.queued_job_names(services)
    return await render(
        request,
        "admin_jobs.html",
        {
            "jobs": jobs,
            "running": running,
            "queued": queued,
            "internal": {name for name, spec in load_jobs().items() if not spec.manual},
            "error": error,
            "started": request.query_params.get("started"),
            "not_started": _not_started(request),
            "page": "admin-jobs",
        },
        status,
    )


@require_admin
async def admin_jobs_page(request: Request) -> Response:
    return await _jobs_page(request)


@require_admin
async def admin_job_run(request: Request) -> Response:
    await auth.checked_form(request)
    name = str(request.path_params["name"])
    try:
        await actions.run_job(services_of(request), name)
    except actions.JobNotStarted as exc:
        since = f"&since={quote(exc.since)}" if exc.since else ""
        return see_other(f"/admin/jobs?not_started={quote(name)}&reason={exc.reason}{since}#job-{quote(name)}")
    return see_other(f"/admin/jobs?started={quote(name)}#job-{quote(name)}")


@require_admin
async def admin_job_schedule(request: Request) -> Response:
    form = await auth.checked_form(request)
    name = str(request.path_params["name"])
    raw = str(form.get("schedule") or "").strip()
    try:
        data = parse(JobPatch, {"schedule": raw or None, "enabled": checkbox(form, "enabled")})
    except InvalidInput as exc:
        return await _jobs_page(request, error=f"{name}: {exc}", status=400)
    async with services_of(request).sessions() as session:
        await actions.patch_job(session, name, data)
    return see_other(f"/admin/jobs#job-{quote(name)}")


@require_admin
async def admin_job_history(request: Request) -> Response:
    name = str(request.path_params["name"])
    async with services_of(request).sessions() as session:
        definition = await job_reads.get_job(session, name)
        runs = await job_reads.job_runs(session, name=name, active=False, limit=50)
    return await render(
        request,
        "admin_job.html",
        {
            "job": {"name": definition.name, "description": definition.description, "schedule": definition.schedule},
            "runs": runs,
            "page": "admin-jobs",
        },
    )


@require_admin
async def admin_webhooks_page(request: Request) -> Response:
    status = request.query_params.get("status") or None
    if status not in (None, "pending", "done", "ignored", "rejected", "failed"):
        raise HTTPException(400, "status is one of pending, done, ignored, rejected, failed")
    services = services_of(request)
    cleared = request.query_params.get("cleared", "")
    async with services.sessions() as session:
        events = await webhook_reads.webhook_events(session, status=status, limit=200)
        counts = await webhook_reads.webhook_status_counts(session)
    return await render(
        request,
        "admin_webhooks.html",
        {
            "events": events,
            "counts": counts,
            "status": status,
            "webhook_url": f"{services.settings.public_base_url}/webhooks/",
            "cleared": cleared if cleared.isdigit() else None,
            "keep_days": services.settings.keep_events_days,
            "keep_max": services.settings.keep_events_max,
            "page": "admin-webhooks",
        },
    )


@require_admin
async def admin_webhooks_clear(request: Request) -> Response:
    """The admin has read the rejected and failed events: delete them (nothing else ever does)."""
    await auth.checked_form(request)
    async with services_of(request).sessions() as session:
        cleared = await actions.clear_failed_webhooks(session)
    return see_other(f"/admin/webhooks?cleared={cleared}")


def routes() -> list[BaseRoute]:
    return [
        Route("/admin/jobs", admin_jobs_page),
        Route("/admin/jobs/{name}", admin_job_history, methods=["GET"]),
        Route("/admin/jobs/{name}/run", admin_job_run, methods=["POST"]),
        Route("/admin/jobs/{name}/schedule", admin_job_schedule, methods=["POST"]),
        Route("/admin/webhooks", admin_webhooks_page),
        Route("/admin/webhooks/clear", admin_webhooks_clear, methods=["POST"]),
    ]
