"""The JSON API under ``/api/``: the same data as the pages, for scripts and other front ends.

Authentication is the login cookie (``POST /api/auth/login``); writes also need the ``X-CSRF-Token``
header (its value is in ``GET /api/me``). Bodies are JSON validated by pydantic models; a malformed
request is a 4xx ``{"error": "..."}`` naming the field. A user only ever sees their own picks, stats and
the channels they own or that were shared with them; admin routes answer 403 to everyone else.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from sidecar import runtime_settings as rs
from sidecar.channels import fill_channel
from sidecar.json_body import JsonBodyError, read_json
from sidecar.media_types import MEDIA_TYPES, MediaType
from sidecar.picks_store.taste import regenerate_taste_profile
from sidecar.publish.options import PUBLISH_FILES
from sidecar.web import actions, auth
from sidecar.web.auth import require_admin, require_user, services_of, user_of
from sidecar.web.read_models import channels as channel_reads
from sidecar.web.read_models import items as item_reads
from sidecar.web.read_models import jobs as job_reads
from sidecar.web.read_models import picks as pick_reads
from sidecar.web.read_models import server as server_reads
from sidecar.web.read_models import taste as taste_reads
from sidecar.web.read_models import top_picks as top_pick_reads
from sidecar.web.read_models import users as user_reads
from sidecar.web.read_models import webhook_events as webhook_reads
from sidecar.web.read_models.history import load_history
from sidecar.web.read_models.watch_stats import load_watch_stats
from sidecar.web.schemas import (
    MAX_DB_INT,
    BrowseQuery,
    ChannelIn,
    HistoryQuery,
    JobPatch,
    LibraryPatch,
    LimitQuery,
    LoginIn,
    MediaTypeQuery,
    RunsQuery,
    UserPatch,
    UserSettingsIn,
    WebhookQuery,
    parse,
)

M = TypeVar("M", bound=BaseModel)

MAX_BODY = 64 * 1024


async def json_of(request: Request) -> Any:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise HTTPException(415, "Send the body as JSON (Content-Type: application/json).")
    too_large = HTTPException(413, f"The body is larger than {MAX_BODY} bytes.")
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and (len(declared) > 12 or int(declared) > MAX_BODY):
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():  # never more than MAX_BODY in memory, whatever the client sends
        size += len(chunk)
        if size > MAX_BODY:
            raise too_large
        chunks.append(chunk)
    try:
        return read_json(b"".join(chunks), "The body")
    except JsonBodyError as exc:
        raise HTTPException(400, f"{exc}.") from None


async def body_of(request: Request, model: type[M]) -> M:
    return parse(model, await json_of(request))  # InvalidInput: 422 with the message


def query_of(request: Request, model: type[M]) -> M:
    """Known query parameters, validated (unknown ones, e.g. cache busters, are ignored)."""
    params = {k: v for k, v in request.query_params.items() if k in model.model_fields}
    return parse(model, params)  # InvalidInput: 422 with the message


def media_type_path(request: Request) -> MediaType:
    value = request.path_params["media_type"]
    if value not in MEDIA_TYPES:
        raise HTTPException(404, "media_type is 'movies' or 'series'")
    return MediaType(value)


def ok(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status)


def path_int(request: Request, name: str) -> int:
    """An id from the path; one beyond the integer columns' range cannot exist."""
    value: int = request.path_params[name]
    if value > MAX_DB_INT:
        raise HTTPException(404, f"There is no {name.removesuffix('_id')} {value}.")
    return value


# --- auth ------------------------------------------------------------------------------------------


async def login(request: Request) -> Response:
    data = await body_of(request, LoginIn)
    services = services_of(request)
    try:
        user, session_id = await auth.login(services, data.name, data.password, auth.client_address(request))
    except auth.LoginFailed as exc:
        raise HTTPException(exc.status_code, str(exc), headers=exc.headers) from exc
    response = ok(
        {"user": {"id": user.id, "name": user.name, "is_admin": user.is_admin}, "csrf_token": user.csrf_token}
    )
    auth.set_session_cookie(request, response, services.settings, session_id)
    return response


@require_user
async def logout(request: Request) -> Response:
    await auth.logout(request)
    response = ok({"logged_out": True})
    auth.clear_session_cookie(response)
    return response


@require_user
async def me(request: Request) -> Response:
    user = await user_of(request)
    async with services_of(request).sessions() as session:
        row = await user_reads.get_user(session, user.id)
    return ok({**user_reads.user_view(row), "csrf_token": user.csrf_token})


@require_user
async def me_settings(request: Request) -> Response:
    user = await user_of(request)
    data = await body_of(request, UserSettingsIn)
    async with services_of(request).sessions() as session:
        explanations = await rs.load(session, rs.EXPLANATIONS)
        row = await actions.update_user_settings(  # Forbidden (403) when the admin does not allow it
            session, user.id, data, may_override_explanations=explanations.allow_user_override
        )
    return ok(user_reads.user_view(row))


# --- the user's data -------------------------------------------------------------------------------


@require_user
async def picks(request: Request) -> Response:
    user = await user_of(request)
    q = query_of(request, MediaTypeQuery)
    async with services_of(request).sessions() as session:
        return ok(await pick_reads.picks(session, user.id, q.media_type))


@require_user
async def items(request: Request) -> Response:
    q = query_of(request, BrowseQuery)
    async with services_of(request).sessions() as session:
        return ok(
            await item_reads.browse(
                session, q.media_type, q=q.q or None, genre=q.genre or None, page=q.page, per_page=q.per_page
            )
        )


@require_user
async def item(request: Request) -> Response:
    user = await user_of(request)
    async with services_of(request).sessions() as session:
        row = await item_reads.get_item(session, path_int(request, "item_id"))
        pick = await pick_reads.pick_for_item(session, user.id, row)
    return ok({"item": item_reads.item_detail(row), "pick": pick})


@require_user
async def similar(request: Request) -> Response:
    q = query_of(request, LimitQuery)
    services = services_of(request)
    async with services.sessions() as session:
        row = await item_reads.get_item(session, path_int(request, "item_id"))
    items = await item_reads.similar_items(services, row, q.limit)
    return ok({"item_id": row.id, "similar": items})


@require_user
async def watch_stats(request: Request) -> Response:
    user = await user_of(request)
    q = query_of(request, MediaTypeQuery)
    async with services_of(request).sessions() as session:
        return ok(await load_watch_stats(session, user.id, q.media_type))


@require_user
async def history(request: Request) -> Response:
    user = await user_of(request)
    q = query_of(request, HistoryQuery)
    async with services_of(request).sessions() as session:
        rows = await load_history(session, user.id, q.media_type, q.sort, q.limit)
    return ok({"media_type": q.media_type, "sort": q.sort, "history": rows})


@require_user
async def taste(request: Request) -> Response:
    user = await user_of(request)
    async with services_of(request).sessions() as session:
        return ok({"profiles": await taste_reads.taste_profiles(session, user.id)})


@require_user
async def taste_regenerate(request: Request) -> Response:
    user = await user_of(request)
    media_type = media_type_path(request)
    written = await regenerate_taste_profile(services_of(request), user.id, media_type)
    if written is None:
        raise HTTPException(409, "The profile is locked.")
    async with services_of(request).sessions() as session:
        return ok((await taste_reads.taste_profiles(session, user.id))[media_type])


@require_user
async def top_picks(request: Request) -> Response:
    q = query_of(request, MediaTypeQuery)
    async with services_of(request).sessions() as session:
        return ok({"media_type": q.media_type, "top_picks": await top_pick_reads.top_picks(session, q.media_type)})


# --- channels --------------------------------------------------------------------------------------


@require_user
async def channels(request: Request) -> Response:
    user = await user_of(request)
    async with services_of(request).sessions() as session:
        if request.method == "GET":
            return ok({"channels": await channel_reads.channels_for(session, user.id)})
        data = await body_of(request, ChannelIn)
        channel = await actions.create_channel(session, user.id, data)  # InvalidInput (422): unknown refs
        return ok(await channel_reads.channel_view(session, channel, user.id, full=True), 201)


@require_user
async def channel(request: Request) -> Response:
    user = await user_of(request)
    channel_id = path_int(request, "channel_id")
    async with services_of(request).sessions() as session:
        if request.method == "GET":
            row = await channel_reads.channel_visible(session, channel_id, user.id)
            return ok(await channel_reads.channel_view(session, row, user.id, full=True))
        if request.method == "DELETE":
            await actions.delete_channel(session, channel_id, user.id)
            return Response(status_code=204)
        await actions.owned_channel(session, channel_id, user.id)
        data = await body_of(request, ChannelIn)
        row = await actions.update_channel(session, channel_id, user.id, data)
        return ok(await channel_reads.channel_view(session, row, user.id, full=True))


@require_user
async def channel_fill(request: Request) -> Response:
    user = await user_of(request)
    channel_id = path_int(request, "channel_id")
    async with services_of(request).sessions() as session:
        await actions.owned_channel(session, channel_id, user.id)
    await fill_channel(services_of(request), channel_id)
    async with services_of(request).sessions() as session:
        row = await channel_reads.channel_visible(session, channel_id, user.id)
        return ok(await channel_reads.channel_view(session, row, user.id, full=True))


# --- admin -----------------------------------------------------------------------------------------


@require_admin
async def admin_settings(request: Request) -> Response:
    services = services_of(request)
    settings = services.settings
    async with services.sessions() as session:
        server = await server_reads.media_server_info(session)
        publish = await rs.load(session, rs.PUBLISH)
        body = {
            "media_server": {
                "type": settings.media_server_type,
                "url": settings.media_server_url,
                "api_key_set": settings.media_server_api_key is not None,
                "server": server,
            },
            "recommendations": {
                mt: (await rs.load(session, rs.recommendation_key(mt))).model_dump() for mt in MEDIA_TYPES
            },
            "top_picks": {mt: (await rs.load(session, rs.top_picks_key(mt))).model_dump() for mt in MEDIA_TYPES},
            "explanations": (await rs.load(session, rs.EXPLANATIONS)).model_dump(),
            "publish": {**publish.model_dump(), "effective_mode": rs.effective_publish_mode(publish, settings)},
            "publish_files": (await rs.load(session, PUBLISH_FILES)).model_dump(),
        }
    return ok(body)


async def _patch_setting(request: Request, key: rs.RuntimeKey[M]) -> Response:
    """Merge the JSON object's fields over the current value, validate the whole, save."""
    changes = await json_of(request)
    if not isinstance(changes, dict):
        raise HTTPException(422, "body: send a JSON object with the fields to change")
    async with services_of(request).sessions() as session:
        current = await rs.load(session, key)
        value = parse(key.model, rs.merge(current.model_dump(), changes))  # InvalidInput: 422
        await rs.save(session, key, value)
    return ok(value.model_dump())


@require_admin
async def admin_patch_recommendations(request: Request) -> Response:
    return await _patch_setting(request, rs.recommendation_key(media_type_path(request)))


@require_admin
async def admin_patch_top_picks(request: Request) -> Response:
    return await _patch_setting(request, rs.top_picks_key(media_type_path(request)))


@require_admin
async def admin_patch_explanations(request: Request) -> Response:
    return await _patch_setting(request, rs.EXPLANATIONS)


@require_admin
async def admin_patch_publish(request: Request) -> Response:
    return await _patch_setting(request, rs.PUBLISH)


@require_admin
async def admin_patch_publish_files(request: Request) -> Response:
    return await _patch_setting(request, PUBLISH_FILES)


@require_admin
async def admin_users(request: Request) -> Response:
    async with services_of(request).sessions() as session:
        return ok({"users": [user_reads.user_view(u) for u in await user_reads.live_users(session)]})


@require_admin
async def admin_user(request: Request) -> Response:
    data = await body_of(request, UserPatch)
    async with services_of(request).sessions() as session:
        row = await actions.patch_user(session, path_int(request, "user_id"), data)
    return ok(user_reads.user_view(row))


@require_admin
async def admin_libraries(request: Request) -> Response:
    async with services_of(request).sessions() as session:
        libraries = await server_reads.source_libraries(session)
        return ok({"libraries": [server_reads.library_view(lib) for lib in libraries]})


@require_admin
async def admin_library(request: Request) -> Response:
    data = await body_of(request, LibraryPatch)
    async with services_of(request).sessions() as session:
        row = await actions.patch_library(session, path_int(request, "library_id"), data)
    return ok(server_reads.library_view(row))


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
        Route("/api/auth/login", login, methods=["POST"]),
        Route("/api/auth/logout", logout, methods=["POST"]),
        Route("/api/me", me, methods=["GET"]),
        Route("/api/me/settings", me_settings, methods=["PUT"]),
        Route("/api/picks", picks, methods=["GET"]),
        Route("/api/items", items, methods=["GET"]),
        Route("/api/items/{item_id:id}", item, methods=["GET"]),
        Route("/api/items/{item_id:id}/similar", similar, methods=["GET"]),
        Route("/api/stats", watch_stats, methods=["GET"]),
        Route("/api/history", history, methods=["GET"]),
        Route("/api/taste", taste, methods=["GET"]),
        Route("/api/taste/{media_type}/regenerate", taste_regenerate, methods=["POST"]),
        Route("/api/top-picks", top_picks, methods=["GET"]),
        Route("/api/channels", channels, methods=["GET", "POST"]),
        Route("/api/channels/{channel_id:id}", channel, methods=["GET", "PUT", "DELETE"]),
        Route("/api/channels/{channel_id:id}/fill", channel_fill, methods=["POST"]),
        Route("/api/admin/settings", admin_settings, methods=["GET"]),
        Route("/api/admin/settings/recommendations/{media_type}", admin_patch_recommendations, methods=["PATCH"]),
        Route("/api/admin/settings/top-picks/{media_type}", admin_patch_top_picks, methods=["PATCH"]),
        Route("/api/admin/settings/explanations", admin_patch_explanations, methods=["PATCH"]),
        Route("/api/admin/settings/publish", admin_patch_publish, methods=["PATCH"]),
        Route("/api/admin/settings/publish-files", admin_patch_publish_files, methods=["PATCH"]),
        Route("/api/admin/users", admin_users, methods=["GET"]),
        Route("/api/admin/users/{user_id:id}", admin_user, methods=["PATCH"]),
        Route("/api/admin/libraries", admin_libraries, methods=["GET"]),
        Route("/api/admin/libraries/{library_id:id}", admin_library, methods=["PATCH"]),
        Route("/api/admin/jobs", admin_jobs, methods=["GET"]),
        Route("/api/admin/jobs/runs", admin_runs, methods=["GET"]),
        Route("/api/admin/jobs/runs/{run_id:id}", admin_run, methods=["GET"]),
        Route("/api/admin/jobs/{name}", admin_job, methods=["PATCH"]),
        Route("/api/admin/jobs/{name}/run", admin_job_run, methods=["POST"]),
        Route("/api/admin/webhook-events", admin_webhook_events, methods=["GET"]),
        Route("/api/admin/webhook-events/clear", admin_clear_webhook_events, methods=["POST"]),
    ]
