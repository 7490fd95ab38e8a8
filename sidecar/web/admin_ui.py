"""The admin's pages: settings (media server, libraries, users, algorithm, outputs, Top Picks), jobs
(schedules, run now, live progress, history) and webhook events. Everyone else gets 403.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from providers.errors import MediaServerError
from sidecar import runtime_settings as rs
from sidecar.errors import InvalidInput
from sidecar.jobs.registry import load_jobs
from sidecar.media_types import MEDIA_TYPES, MediaType
from sidecar.publish.options import PUBLISH_FILES, PublishFileSettings
from sidecar.web import actions, auth
from sidecar.web.auth import require_admin, services_of
from sidecar.web.read_models import jobs as job_reads
from sidecar.web.read_models import server as server_reads
from sidecar.web.read_models import users as user_reads
from sidecar.web.read_models import webhook_events as webhook_reads
from sidecar.web.rendering import checkbox, form_ints, render, see_other
from sidecar.web.schemas import (
    JobPatch,
    LibraryPatch,
    UserPatch,
    parse,
)

# --- admin: settings -------------------------------------------------------------------------------


async def _admin_settings_page(
    request: Request, *, error: str | None = None, notice: str | None = None, status: int = 200
) -> Response:
    services = services_of(request)
    settings = services.settings
    async with services.sessions() as session:
        server = await server_reads.media_server_info(session)
        libraries = [server_reads.library_view(lib) for lib in await server_reads.source_libraries(session)]
        users = [user_reads.user_view(u) for u in await user_reads.live_users(session)]
        recommendations = {mt: await rs.load(session, rs.recommendation_key(mt)) for mt in MEDIA_TYPES}
        top = {mt: await rs.load(session, rs.top_picks_key(mt)) for mt in MEDIA_TYPES}
        explanations = await rs.load(session, rs.EXPLANATIONS)
        publish = await rs.load(session, rs.PUBLISH)
        files = await rs.load(session, PUBLISH_FILES)
    return await render(
        request,
        "admin_settings.html",
        {
            "connection": {
                "type": settings.media_server_type,
                "url": settings.media_server_url,
                "api_key_set": settings.media_server_api_key is not None,
                "server": server,
                "embedding": f"{settings.embedding_provider}: {settings.resolved_embedding_model}",
                "strm_root": str(settings.resolved_strm_root),
                "strm_prefix": settings.resolved_strm_prefix,
            },
            "libraries": libraries,
            "users": users,
            "all_folder_users": [u for u in users if u["enable_all_folders"]],
            "recommendations": recommendations,
            "top": top,
            "explanations": explanations,
            "publish": publish,
            "files": files,
            "effective_mode": rs.effective_publish_mode(publish, settings),
            "env_mode": settings.publish_mode,
            "error": error,
            "notice": notice or {"1": "Saved."}.get(request.query_params.get("saved", "")),
            "page": "admin-settings",
        },
        status,
    )


@require_admin
async def admin_settings_page(request: Request) -> Response:
    return await _admin_settings_page(request)


def _model_from_form(form: FormData, fields: dict[str, Sequence[str]]) -> dict[str, Any]:
    """Nested data for ``model`` from flat form names: ``fields`` maps form name -> path in the model."""
    data: dict[str, Any] = {}
    for name, path in fields.items():
        target = data
        for part in path[:-1]:
            target = target.setdefault(part, {})
        target[path[-1]] = form.get(name)
    return data


def _checkboxes(form: FormData, data: dict[str, Any], fields: dict[str, Sequence[str]]) -> None:
    for name, path in fields.items():
        target = data
        for part in path[:-1]:
            target = target.setdefault(part, {})
        target[path[-1]] = checkbox(form, name)


@require_admin
async def admin_settings_submit(request: Request) -> Response:
    section = str(request.path_params["section"])
    form = await auth.checked_form(request)
    services = services_of(request)
    try:
        async with services.sessions() as session:
            await _save_admin_section(session, section, form)
    except InvalidInput as exc:
        return await _admin_settings_page(request, error=str(exc), status=400)
    return see_other(f"/admin/settings?saved=1#{quote(section)}")


async def _save_admin_section(session: AsyncSession, section: str, form: FormData) -> None:
    if section == "libraries":
        enabled = set(form_ints(form, "enabled"))
        for library_id in form_ints(form, "library"):
            await actions.patch_library(session, library_id, parse(LibraryPatch, {"enabled": library_id in enabled}))
        return
    if section == "users":
        movies, series = set(form_ints(form, "movies")), set(form_ints(form, "series"))
        for user_id in form_ints(form, "user"):
            await actions.patch_user(
                session,
                user_id,
                parse(UserPatch, {"movies_enabled": user_id in movies, "series_enabled": user_id in series}),
            )
        return
    if section.startswith("recommendations-") and section.removeprefix("recommendations-") in MEDIA_TYPES:
        media_type = MediaType(section.removeprefix("recommendations-"))
        data = _model_from_form(
            form,
            {
                "similarity": ("weights", "similarity"),
                "novelty": ("weights", "novelty"),
                "rating": ("weights", "rating"),
                "diversity": ("weights", "diversity"),
                "count": ("count",),
                "recent_watch_limit": ("recent_watch_limit",),
            },
        )
        await rs.save(session, rs.recommendation_key(media_type), parse(rs.RecommendationSettings, data))
        return
    if section.startswith("top-picks-") and section.removeprefix("top-picks-") in MEDIA_TYPES:
        top_type = MediaType(section.removeprefix("top-picks-"))
        data = _model_from_form(
            form,
            {
                "window_days": ("window_days",),
                "min_viewers": ("min_viewers",),
                "count": ("count",),
                "unique_viewers": ("weights", "unique_viewers"),
                "play_count": ("weights", "play_count"),
                "completion": ("weights", "completion"),
                "library_mode": ("outputs", "library_mode"),
                "name": ("outputs", "name"),
            },
        )
        data["outputs"]["name"] = data["outputs"]["name"] or ""
        _checkboxes(
            form,
            data,
            {
                "enabled": ("enabled",),
                "library": ("outputs", "library"),
                "collection": ("outputs", "collection"),
                "playlist": ("outputs", "playlist"),
            },
        )
        await rs.save(session, rs.top_picks_key(top_type), parse(rs.TopPicksSettings, data))
        return
    if section == "explanations":
        data = {"enabled": checkbox(form, "enabled"), "allow_user_override": checkbox(form, "allow_user_override")}
        await rs.save(session, rs.EXPLANATIONS, parse(rs.ExplanationSettings, data))
        return
    if section == "publish":
        mode = form.get("mode") or None
        data = {"mode": mode, "convert_all_folders_users": checkbox(form, "convert_all_folders_users")}
        await rs.save(session, rs.PUBLISH, parse(rs.PublishSettings, data))
        return
    if section == "publish-files":
        data = {
            "strm_content": form.get("strm_content"),
            "artwork": checkbox(form, "artwork"),
            "scan_timeout_s": form.get("scan_timeout_s"),
        }
        await rs.save(session, PUBLISH_FILES, parse(PublishFileSettings, data))
        return
    raise HTTPException(404, f"There is no settings section {section!r}.")


@require_admin
async def admin_test_connection(request: Request) -> Response:
    await auth.checked_form(request)
    server = services_of(request).media_server
    if server is None:
        return await _admin_settings_page(request, error="No media server is configured.", status=400)
    try:
        info = await server.server_info()
    except MediaServerError as exc:
        return await _admin_settings_page(request, error=f"Connection failed: {exc.message}", status=502)
    return await _admin_settings_page(
        request, notice=f"Connected to {info.product} server “{info.name}”, version {info.version}."
    )


# --- admin: jobs and webhooks ----------------------------------------------------------------------

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


async def admin_index(request: Request) -> Response:
    return see_other("/admin/settings")


def routes() -> list[BaseRoute]:
    return [
        Route("/admin", require_admin(admin_index)),
        Route("/admin/settings", admin_settings_page),
        Route("/admin/settings/test", admin_test_connection, methods=["POST"]),
        Route("/admin/settings/{section}", admin_settings_submit, methods=["POST"]),
        Route("/admin/jobs", admin_jobs_page),
        Route("/admin/jobs/{name}", admin_job_history, methods=["GET"]),
        Route("/admin/jobs/{name}/run", admin_job_run, methods=["POST"]),
        Route("/admin/jobs/{name}/schedule", admin_job_schedule, methods=["POST"]),
        Route("/admin/webhooks", admin_webhooks_page),
        Route("/admin/webhooks/clear", admin_webhooks_clear, methods=["POST"]),
    ]
