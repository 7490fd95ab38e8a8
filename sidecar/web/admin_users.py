"""The admin's pages about users: the users table (what the media server says about each, picks on or off)
and one user's page — their picks with the reasons, watch stats, history, taste profiles, library names,
recommendation runs, and what the admin decides for them (picks per media type, the explanations grant).

The user's page shows the same read models through the same partials as the user's own pages. Saving a
change that alters a user's libraries queues their follow-up, so the media server shows it within seconds.
Everyone but a media-server administrator gets 403. The JSON twins are in ``sidecar.web.users_api``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sidecar import runtime_settings as rs
from sidecar.errors import InvalidInput
from sidecar.media_types import MEDIA_TYPES
from sidecar.web import actions, auth
from sidecar.web.auth import require_admin, services_of
from sidecar.web.read_models import picks as pick_reads
from sidecar.web.read_models import taste as taste_reads
from sidecar.web.read_models import users as user_reads
from sidecar.web.read_models.history import load_history
from sidecar.web.read_models.play_links import play_links
from sidecar.web.read_models.recommendation_runs import recommendation_runs
from sidecar.web.read_models.watch_stats import load_watch_stats
from sidecar.web.rendering import checkbox, form_ints, media_type_param, path_int, render, see_other
from sidecar.web.schemas import UserPatch, parse

HISTORY_ROWS = 50


@require_admin
async def users_page(request: Request) -> Response:
    services = services_of(request)
    users, note = await user_reads.users_as_the_server_says(services)
    async with services.sessions() as session:
        explanations = await rs.load(session, rs.EXPLANATIONS)
    return await render(
        request,
        "admin_users.html",
        {
            "users": [
                {**user_reads.user_view(u), "explanations": rs.effective_explanations(explanations, u)} for u in users
            ],
            "explanations": explanations,
            "note": note,
            "notice": "Saved." if request.query_params.get("saved") == "1" else None,
            "page": "admin-users",
        },
    )


@require_admin
async def users_submit(request: Request) -> Response:
    form = await auth.checked_form(request)
    services = services_of(request)
    movies, series = set(form_ints(form, "movies")), set(form_ints(form, "series"))
    async with services.sessions() as session:
        explanations = await rs.load(session, rs.EXPLANATIONS)
        changes = []
        for user_id in form_ints(form, "user"):
            patch = parse(UserPatch, {"movies_enabled": user_id in movies, "series_enabled": user_id in series})
            changes.append(await actions.patch_user(session, user_id, patch, explanations))
    for row, requests in changes:
        await actions.follow_up(services, int(row.id or 0), requests)
    return see_other("/admin/users?saved=1")


async def _user_page(request: Request, *, error: str | None = None, status: int = 200) -> Response:
    services = services_of(request)
    user_id = path_int(request, "user_id")
    media_type = media_type_param(request)
    async with services.sessions() as session:
        user = await user_reads.get_user(session, user_id)  # NotFound: 404
        explanations = await rs.load(session, rs.EXPLANATIONS)
        picks = await pick_reads.picks(session, user_id, media_type)
        stats = await load_watch_stats(session, user_id, media_type)
        history = await load_history(session, user_id, media_type, "recent", HISTORY_ROWS)
        profiles = await taste_reads.taste_profiles(session, user_id)
        runs = await recommendation_runs(session, user_id)
        links = await play_links(session, services.settings)
        await links.attach(session, picks["picks"])
        await links.attach(session, history)
        libraries = await user_reads.library_names(session, user, services.settings.library_name_prefix)
    return await render(
        request,
        "admin_user.html",
        {
            "user": user_reads.user_view(user),
            "media_type": media_type,
            "media_types": MEDIA_TYPES,
            "picks": picks,
            "stats": stats,
            "history": history,
            "profiles": profiles,
            "runs": runs,
            "libraries": libraries,
            "explanations": explanations,
            "shown": rs.effective_explanations(explanations, user),
            "may_choose": rs.may_choose_explanations(explanations, user),
            "error": error,
            "notice": _notice(request),
            "page": "admin-users",
        },
        status,
    )


def _notice(request: Request) -> str | None:
    if request.query_params.get("saved") != "1":
        return None
    if request.query_params.get("republishing") == "1":
        return "Saved. Their libraries are being rewritten now; the media server shows the change in a few seconds."
    return "Saved."


@require_admin
async def user_page(request: Request) -> Response:
    return await _user_page(request)


@require_admin
async def user_submit(request: Request) -> Response:
    form = await auth.checked_form(request)
    services = services_of(request)
    user_id = path_int(request, "user_id")
    patch = {
        "movies_enabled": checkbox(form, "movies_enabled"),
        "series_enabled": checkbox(form, "series_enabled"),
        "may_override_explanations": checkbox(form, "may_override_explanations"),
    }
    try:
        async with services.sessions() as session:
            explanations = await rs.load(session, rs.EXPLANATIONS)
            _row, requests = await actions.patch_user(session, user_id, parse(UserPatch, patch), explanations)
    except InvalidInput as exc:
        return await _user_page(request, error=str(exc), status=400)
    await actions.follow_up(services, user_id, requests)
    media_type = media_type_param(request)
    republishing = "&republishing=1" if requests else ""
    return see_other(f"/admin/users/{user_id}?media_type={media_type}&saved=1{republishing}#admin-choices")


def routes() -> list[BaseRoute]:
    return [
        Route("/admin/users", users_page, methods=["GET"]),
        Route("/admin/users", users_submit, methods=["POST"]),
        Route("/admin/users/{user_id:id}", user_page, methods=["GET"]),
        Route("/admin/users/{user_id:id}", user_submit, methods=["POST"]),
    ]
