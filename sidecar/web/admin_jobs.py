"""The admin's job pages (schedules, run now, cancel, live progress over server-sent events, history) and the
webhook event log (filter by status and type, Marquee's own copies hidden unless asked for, paged).

Everyone but a media-server administrator gets 403. The JSON twins are in ``sidecar.web.jobs_api``, the
progress streams in ``sidecar.web.job_events``; what the buttons do is ``sidecar.jobs.control``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sidecar.errors import InvalidInput
from sidecar.jobs import control
from sidecar.jobs.registry import find_job
from sidecar.web import actions, auth
from sidecar.web.auth import require_admin, services_of
from sidecar.web.jobs_api import job_list
from sidecar.web.read_models import jobs as job_reads
from sidecar.web.read_models import webhook_events as webhook_reads
from sidecar.web.rendering import checkbox, render, see_other
from sidecar.web.schemas import JobPatch, WebhookQuery, parse
from sidecar.web.templating import templates

_HHMM = re.compile(r"\d\d:\d\d")
WEBHOOK_PAGE_SIZE = 50


def ago(value: str | None) -> str:
    """An ISO timestamp as "3 min ago" (pages show it beside the absolute time)."""
    if not value:
        return ""
    try:
        seconds = (datetime.now(UTC) - datetime.fromisoformat(value).astimezone(UTC)).total_seconds()
    except ValueError:
        return ""
    if seconds < 45:
        return "just now"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min ago"
    hours = round(seconds / 3600)
    if hours < 36:
        return f"{hours} h ago"
    return f"{round(seconds / 86400)} days ago"


templates.env.filters["ago"] = ago


def _not_started(request: Request) -> str | None:
    """The notice after a "Run now" that did not start (from the redirect's query, validated)."""
    name = request.query_params.get("not_started")
    reason = request.query_params.get("reason")
    since = request.query_params.get("since")
    if not name or reason not in control.NOT_STARTED_REASONS:
        return None
    return control.not_started_message(name, reason, since if since and _HHMM.fullmatch(since) else None)


def _cancel_notice(request: Request) -> str | None:
    name, outcome = request.query_params.get("cancelled"), request.query_params.get("outcome")
    if not name or find_job(name) is None:
        return None
    return {
        "cancelled": f"{name} was cancelled: it stopped, and what it had done so far stays.",
        "stopping": f"{name} was told to stop; it ends as “cancelled” when its current step finishes.",
        "dequeued": f"{name} was taken off the queue before it started.",
        "nothing": f"{name} was not running or queued: there was nothing to cancel.",
        "internal": str(control.JobNotRunning(name, internal=True)),
    }.get(outcome or "")


async def _jobs_page(request: Request, *, error: str | None = None, status: int = 200) -> Response:
    return await render(
        request,
        "admin_jobs.html",
        {
            "jobs": await job_list(services_of(request)),
            "disabling": control.DISABLED_NOTE,
            "error": error,
            "started": request.query_params.get("started")
            if find_job(request.query_params.get("started") or "")
            else None,
            "not_started": _not_started(request),
            "cancel_notice": _cancel_notice(request),
            "page": "admin-jobs",
        },
        status,
    )


@require_admin
async def admin_jobs_page(request: Request) -> Response:
    return await _jobs_page(request)


def _back(request: Request, name: str, query: dict[str, str]) -> Response:
    """Back to the page the form was on: the job's own page or the list."""
    on_job_page = request.query_params.get("from") == "job"
    base = f"/admin/jobs/{quote(name)}" if on_job_page else "/admin/jobs"
    return see_other(f"{base}?{urlencode(query)}" + ("" if on_job_page else f"#job-{quote(name)}"))


@require_admin
async def admin_job_run(request: Request) -> Response:
    await auth.checked_form(request)
    name = str(request.path_params["name"])
    try:
        started = await control.run_job(services_of(request), name)
    except control.JobNotStarted as exc:
        query = {"not_started": exc.name, "reason": exc.reason} | ({"since": exc.since} if exc.since else {})
        return _back(request, exc.name, query)
    return _back(request, str(started["name"]), {"started": str(started["name"])})


@require_admin
async def admin_job_cancel(request: Request) -> Response:
    await auth.checked_form(request)
    spec = control.resolve(str(request.path_params["name"]))
    try:
        answer = await control.cancel_job(services_of(request), spec.name)
    except control.JobNotRunning as exc:
        return _back(
            request, spec.name, {"cancelled": spec.name, "outcome": "internal" if exc.status == 400 else "nothing"}
        )
    statuses = {r["status"] for r in answer["runs"]}
    outcome = "stopping" if "running" in statuses else ("cancelled" if answer["runs"] else "dequeued")
    return _back(request, spec.name, {"cancelled": spec.name, "outcome": outcome})


@require_admin
async def admin_job_schedule(request: Request) -> Response:
    form = await auth.checked_form(request)
    name = control.resolve(str(request.path_params["name"])).name
    raw = str(form.get("schedule") or "").strip()
    try:
        data = parse(JobPatch, {"schedule": raw or None, "enabled": checkbox(form, "enabled")})
    except InvalidInput as exc:
        return await _jobs_page(request, error=f"{name}: {exc}", status=400)
    answer = await control.set_job(
        services_of(request), name, schedule=data.schedule, set_schedule=True, enabled=data.enabled
    )
    if answer.get("cancelled"):  # turned off while it ran or waited (told to stop, not waited for)
        still = any(r["status"] == "running" for r in answer["cancelled"]["runs"])
        outcome = "stopping" if still else ("cancelled" if answer["cancelled"]["runs"] else "dequeued")
        return see_other(f"/admin/jobs?{urlencode({'cancelled': name, 'outcome': outcome})}#job-{quote(name)}")
    return see_other(f"/admin/jobs#job-{quote(name)}")


@require_admin
async def admin_job_history(request: Request) -> Response:
    spec = control.resolve(str(request.path_params["name"]))
    if spec.name != request.path_params["name"]:
        return see_other(f"/admin/jobs/{quote(spec.name)}")  # an alias: the job's own page
    async with services_of(request).sessions() as session:
        definition = await job_reads.get_job(session, spec.name)
        runs = await job_reads.job_runs(session, name=spec.name, active=False, limit=50)
    return await render(
        request,
        "admin_job.html",
        {
            "job": {
                "name": definition.name,
                "description": definition.description,
                "schedule": definition.schedule,
                "enabled": definition.enabled,
                "internal": not spec.manual,
                "tracked": spec.track,
                "aliases": spec.aliases,
            },
            "runs": runs,
            "active": next((r for r in runs if r["status"] in job_reads.ACTIVE_STATUSES), None),
            "not_started": _not_started(request),
            "cancel_notice": _cancel_notice(request),
            "started": spec.name if request.query_params.get("started") == spec.name else None,
            "page": "admin-jobs",
        },
    )


def _page_link(query: WebhookQuery, **changes: Any) -> str:
    params = {"status": query.status, "type": query.type, "own": "1" if query.own else None, "offset": query.offset}
    params.update(changes)
    kept = {k: str(v) for k, v in params.items() if v not in (None, "", 0)}
    return "/admin/webhooks" + (f"?{urlencode(kept)}" if kept else "")


@require_admin
async def admin_webhooks_page(request: Request) -> Response:
    params = {k: v for k, v in request.query_params.items() if k in ("status", "type", "own", "offset") and v}
    query = parse(WebhookQuery, params | {"limit": WEBHOOK_PAGE_SIZE})  # InvalidInput: 422 with the message
    services = services_of(request)
    cleared = request.query_params.get("cleared", "")
    async with services.sessions() as session:
        events = await webhook_reads.webhook_events(
            session, limit=query.limit, offset=query.offset, status=query.status, event_type=query.type, own=query.own
        )
        total = await webhook_reads.webhook_total(session, status=query.status, event_type=query.type, own=query.own)
        counts = await webhook_reads.webhook_status_counts(session)
        types = await webhook_reads.webhook_type_counts(session)
        own_copies = await webhook_reads.own_copy_count(session)
    shown_to = min(query.offset + len(events), total)
    return await render(
        request,
        "admin_webhooks.html",
        {
            "events": events,
            "counts": counts,
            "types": types,
            "status": query.status,
            "type": query.type,
            "own": query.own,
            "own_copies": own_copies,
            "total": total,
            "first": query.offset + 1 if events else 0,
            "last": shown_to,
            "newer": _page_link(query, offset=max(0, query.offset - query.limit)) if query.offset else None,
            "older": _page_link(query, offset=query.offset + query.limit) if shown_to < total else None,
            "link": lambda **changes: _page_link(query, offset=0, **changes),
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
        Route("/admin/jobs/{name}/cancel", admin_job_cancel, methods=["POST"]),
        Route("/admin/jobs/{name}/schedule", admin_job_schedule, methods=["POST"]),
        Route("/admin/webhooks", admin_webhooks_page),
        Route("/admin/webhooks/clear", admin_webhooks_clear, methods=["POST"]),
    ]
