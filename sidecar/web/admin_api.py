"""The admin part of the JSON API, under ``/api/admin/``: runtime settings and libraries (jobs and webhook
events: ``sidecar.web.jobs_api``; users and explanations: ``sidecar.web.users_api``).
Every endpoint is for media-server administrators (``access="admin"``, enforced by ``api_spec.routes_of``).
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from sidecar import runtime_settings as rs
from sidecar.media_types import MEDIA_TYPES, MediaType
from sidecar.publish.options import PUBLISH_FILES, PublishFileSettings
from sidecar.web import actions, users_api
from sidecar.web import api_models as m
from sidecar.web.api_spec import Endpoint
from sidecar.web.auth import services_of
from sidecar.web.json_io import M, body_of, json_of, media_type_path, ok, path_int
from sidecar.web.read_models import server as server_reads
from sidecar.web.schemas import LibraryPatch, parse


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


async def admin_patch_recommendations(request: Request) -> Response:
    return await _patch_setting(request, rs.recommendation_key(media_type_path(request)))


async def admin_patch_top_picks(request: Request) -> Response:
    return await _patch_setting(request, rs.top_picks_key(media_type_path(request)))


async def admin_patch_publish(request: Request) -> Response:
    return await _patch_setting(request, rs.PUBLISH)


async def admin_patch_publish_files(request: Request) -> Response:
    return await _patch_setting(request, PUBLISH_FILES)


async def admin_libraries(request: Request) -> Response:
    async with services_of(request).sessions() as session:
        libraries = await server_reads.source_libraries(session)
        return ok({"libraries": [server_reads.library_view(lib) for lib in libraries]})


async def admin_library(request: Request) -> Response:
    data = await body_of(request, LibraryPatch)
    async with services_of(request).sessions() as session:
        row = await actions.patch_library(session, path_int(request, "library_id"), data)
    return ok(server_reads.library_view(row))


ENDPOINTS: list[Endpoint] = [
    Endpoint(
        "GET",
        "/api/admin/settings",
        admin_settings,
        "Every runtime setting",
        "settings",
        access="admin",
        response=m.AdminSettings,
    ),
    Endpoint(
        "PATCH",
        "/api/admin/settings/recommendations/{media_type}",
        admin_patch_recommendations,
        "Change the recommendation settings of a media type (the fields sent)",
        "settings",
        access="admin",
        body=rs.RecommendationSettings,
        response=rs.RecommendationSettings,
        params={"media_type": MediaType},
    ),
    Endpoint(
        "PATCH",
        "/api/admin/settings/top-picks/{media_type}",
        admin_patch_top_picks,
        "Change the Top Picks settings of a media type (the fields sent)",
        "settings",
        access="admin",
        body=rs.TopPicksSettings,
        response=rs.TopPicksSettings,
        params={"media_type": MediaType},
    ),
    Endpoint(
        "PATCH",
        "/api/admin/settings/explanations",
        users_api.patch_explanation_settings,
        "Change the explanations settings (the fields sent)",
        "settings",
        access="admin",
        body=rs.ExplanationSettings,
        response=m.ExplanationSettingsSaved,
    ),
    Endpoint(
        "PATCH",
        "/api/admin/settings/publish",
        admin_patch_publish,
        "Change how the AI Picks libraries are published (the fields sent)",
        "settings",
        access="admin",
        body=rs.PublishSettings,
        response=rs.PublishSettings,
    ),
    Endpoint(
        "PATCH",
        "/api/admin/settings/publish-files",
        admin_patch_publish_files,
        "Change which files are written beside the titles (the fields sent)",
        "settings",
        access="admin",
        body=PublishFileSettings,
        response=PublishFileSettings,
    ),
    Endpoint(
        "GET",
        "/api/admin/libraries",
        admin_libraries,
        "The media server's libraries",
        "settings",
        access="admin",
        response=m.Libraries,
    ),
    Endpoint(
        "PATCH",
        "/api/admin/libraries/{library_id:id}",
        admin_library,
        "Use a library or not",
        "settings",
        access="admin",
        body=LibraryPatch,
        response=m.Library,
    ),
]
