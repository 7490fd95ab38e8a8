"""The admin's pages: settings (media server, libraries, algorithm, outputs, Top Picks); the jobs and
webhook pages are in ``sidecar.web.admin_jobs`` and the users' pages in ``sidecar.web.admin_users`` (both
listed in ``routes()`` here). Everyone else gets 403.
"""

from __future__ import annotations

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
from sidecar.jobs.queue import enqueue
from sidecar.media_types import MEDIA_TYPES, MediaType
from sidecar.publish.options import PUBLISH_FILES, PublishFileSettings
from sidecar.services import Services
from sidecar.web import actions, admin_jobs, admin_quality, admin_users, auth
from sidecar.web.auth import require_admin, services_of
from sidecar.web.form_errors import page_errors
from sidecar.web.read_models import server as server_reads
from sidecar.web.read_models import users as user_reads
from sidecar.web.rendering import checkbox, form_ints, render, see_other
from sidecar.web.schemas import (
    LibraryPatch,
    parse,
)

# --- admin: settings -------------------------------------------------------------------------------


async def _admin_settings_page(
    request: Request,
    *,
    error: str | None = None,
    notice: str | None = None,
    form_state: dict[str, Any] | None = None,
    status: int = 200,
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
            "form_state": form_state,
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
        if section == "explanations":
            await _save_explanations(services, form)
        else:
            async with services.sessions() as session:
                await _save_admin_section(session, section, form)
    except InvalidInput as exc:
        summary, state = _form_state(section, form, exc)
        return await _admin_settings_page(request, error=summary, form_state=state, status=400)
    if section.startswith("top-picks-"):
        # a new name or new outputs reach the media server now, not at the next scheduled refresh
        media_type = section.removeprefix("top-picks-")
        await enqueue(services.redis, TOP_PICKS_JOB, job_id=f"{TOP_PICKS_JOB}:{media_type}", media_types=[media_type])
    return see_other(f"/admin/settings?saved=1#{quote(section)}")


TOP_PICKS_JOB = "refresh-top-picks"


# Form field -> where it goes in the settings model, and the label the admin reads beside it.
RECOMMENDATION_FIELDS: dict[str, Sequence[str]] = {
    "similarity": ("weights", "similarity"),
    "novelty": ("weights", "novelty"),
    "rating": ("weights", "rating"),
    "diversity": ("weights", "diversity"),
    "count": ("count",),
    "recent_watch_limit": ("recent_watch_limit",),
}
TOP_PICKS_FIELDS: dict[str, Sequence[str]] = {
    "window_days": ("window_days",),
    "min_viewers": ("min_viewers",),
    "count": ("count",),
    "unique_viewers": ("weights", "unique_viewers"),
    "play_count": ("weights", "play_count"),
    "completion": ("weights", "completion"),
    "library_mode": ("outputs", "library_mode"),
    "name": ("outputs", "name"),
}
FIELD_LABELS = {
    "similarity": "Similarity",
    "novelty": "Novelty",
    "rating": "Rating",
    "diversity": "Diversity",
    "count": "How many",
    "recent_watch_limit": "Recent watches analysed",
    "window_days": "Time window",
    "min_viewers": "Minimum viewers",
    "unique_viewers": "Weight: unique viewers",
    "play_count": "Weight: play count",
    "completion": "Weight: completion",
    "library_mode": "Library file type",
    "name": "Name",
    "weights": "the weights",
    "scan_timeout_s": "Scan wait",
    "strm_content": "What a .strm file holds",
}


SECTION_TITLES = {"recommendations": "The algorithm", "top": "Top Picks", "publish-files": "Library files"}


def _fields_of(section: str) -> dict[str, Sequence[str]]:
    if section.startswith("recommendations-"):
        return RECOMMENDATION_FIELDS
    if section.startswith("top-picks-"):
        return TOP_PICKS_FIELDS
    return {name: (name,) for name in ("scan_timeout_s", "strm_content")} if section == "publish-files" else {}


def _form_state(section: str, form: FormData, exc: InvalidInput) -> tuple[str, dict[str, Any] | None]:
    """What the page shows after a refused form: the summary, each problem beside its field (by form field
    name; ``weights`` for the weights together) and what the admin typed."""
    fields = _fields_of(section)
    by_path = {".".join(path): name for name, path in fields.items()}
    by_path["weights"] = "weights"
    labels = {path: FIELD_LABELS[name] for path, name in by_path.items()}
    summary, marked = page_errors(exc, labels)
    title = SECTION_TITLES.get(section.split("-", 1)[0] if section != "publish-files" else section, "This form")
    where = section.rsplit("-", 1)[-1] if section.startswith(("recommendations-", "top-picks-")) else ""
    if not marked:
        return summary, None
    summary = f"{title}{f' ({where})' if where else ''} was not saved: {summary}"
    typed = {name: str(form.get(name) or "") for name in fields}
    errors = {by_path[path]: message for path, message in marked.items()}
    return summary, {"section": section, "errors": errors, "typed": typed}


async def _save_explanations(services: Services, form: FormData) -> None:
    """The global toggle and whether granted users may choose; users whose effective value changed get
    their libraries rewritten at once."""
    data = {"enabled": checkbox(form, "enabled"), "allow_user_override": checkbox(form, "allow_user_override")}
    await actions.save_explanations(services, parse(rs.ExplanationSettings, data))


async def _save_admin_section(session: AsyncSession, section: str, form: FormData) -> None:
    if section == "libraries":
        enabled = set(form_ints(form, "enabled"))
        for library_id in form_ints(form, "library"):
            await actions.patch_library(session, library_id, parse(LibraryPatch, {"enabled": library_id in enabled}))
        return
    if section.startswith("recommendations-") and section.removeprefix("recommendations-") in MEDIA_TYPES:
        media_type = MediaType(section.removeprefix("recommendations-"))
        data = _model_from_form(form, RECOMMENDATION_FIELDS)
        await rs.save(session, rs.recommendation_key(media_type), parse(rs.RecommendationSettings, data))
        return
    if section.startswith("top-picks-") and section.removeprefix("top-picks-") in MEDIA_TYPES:
        top_type = MediaType(section.removeprefix("top-picks-"))
        data = _model_from_form(form, TOP_PICKS_FIELDS)
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


async def admin_index(request: Request) -> Response:
    return see_other("/admin/settings")


def routes() -> list[BaseRoute]:
    return [
        Route("/admin", require_admin(admin_index)),
        Route("/admin/settings", admin_settings_page),
        Route("/admin/settings/test", admin_test_connection, methods=["POST"]),
        Route("/admin/settings/{section}", admin_settings_submit, methods=["POST"]),
        *admin_jobs.routes(),  # /admin/jobs/... and /admin/webhooks
        *admin_users.routes(),  # /admin/users and each user's page
        *admin_quality.routes(),  # /admin/quality: evaluate-server's latest result
    ]
