"""The seed's settings that Marquee keeps in another shape: ``/api/settings/recommendations`` (both media
types; the PATCH per type is ``admin_api``'s), ``/api/settings/top-picks`` (both types in one document)
and ``/api/settings/output-format`` (the AI Picks libraries' STRM or symlink mode and what a .strm holds).

Admin only; PATCH merges the fields sent over the stored settings and validates the whole before saving,
through ``sidecar.runtime_settings`` like the admin settings page.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sidecar import runtime_settings as rs
from sidecar.media_types import MEDIA_TYPES
from sidecar.publish.options import PUBLISH_FILES
from sidecar.web.api_spec import Endpoint
from sidecar.web.auth import services_of
from sidecar.web.json_io import body_of
from sidecar.web.schemas import parse
from sidecar.web.seed_api_models import (
    OutputFormat,
    OutputFormatPatch,
    RecommendationSettingsByType,
    TopPicksPatch,
    TopPicksSettingsByType,
    answer,
)


async def recommendation_settings(request: Request) -> Response:
    async with services_of(request).sessions() as session:
        body = {mt: (await rs.load(session, rs.recommendation_key(mt))).model_dump() for mt in MEDIA_TYPES}
    return answer(RecommendationSettingsByType, body)


async def _top_picks(request: Request) -> dict[str, Any]:
    async with services_of(request).sessions() as session:
        return {mt: (await rs.load(session, rs.top_picks_key(mt))).model_dump() for mt in MEDIA_TYPES}


async def top_picks_settings(request: Request) -> Response:
    return answer(TopPicksSettingsByType, await _top_picks(request))


async def patch_top_picks_settings(request: Request) -> Response:
    """``{"movies": {...}, "series": {...}}``, either or both; nothing is saved unless both validate."""
    changes = await body_of(request, TopPicksPatch)
    merged = {mt: rs.merge(current, getattr(changes, mt) or {}) for mt, current in (await _top_picks(request)).items()}
    value = parse(TopPicksSettingsByType, merged)  # FieldErrors (422) naming e.g. movies.window_days
    async with services_of(request).sessions() as session:
        for mt in MEDIA_TYPES:
            if getattr(changes, mt) is not None:
                await rs.save(session, rs.top_picks_key(mt), getattr(value, mt))
    return answer(TopPicksSettingsByType, value.model_dump())


async def _output_format(request: Request) -> dict[str, Any]:
    services = services_of(request)
    async with services.sessions() as session:
        publish = await rs.load(session, rs.PUBLISH)
        files = await rs.load(session, PUBLISH_FILES)
    return {
        "mode": publish.mode,
        "effective_mode": rs.effective_publish_mode(publish, services.settings),
        "strm_content": files.strm_content,
    }


async def output_format(request: Request) -> Response:
    return answer(OutputFormat, await _output_format(request))


async def patch_output_format(request: Request) -> Response:
    """``mode`` (strm, symlink, or null to follow MARQUEE_PUBLISH_MODE) and ``strm_content``; the next
    publish writes the libraries in the new format."""
    changes = await body_of(request, OutputFormatPatch)
    sent = changes.model_fields_set
    async with services_of(request).sessions() as session:
        if "mode" in sent:
            publish = await rs.load(session, rs.PUBLISH)
            await rs.save(session, rs.PUBLISH, publish.model_copy(update={"mode": changes.mode}))
        if changes.strm_content is not None:
            files = await rs.load(session, PUBLISH_FILES)
            await rs.save(session, PUBLISH_FILES, files.model_copy(update={"strm_content": changes.strm_content}))
    return answer(OutputFormat, await _output_format(request))


ENDPOINTS: list[Endpoint] = [
    Endpoint(
        "GET",
        "/api/settings/recommendations",
        recommendation_settings,
        "The recommendation settings of both media types",
        "settings",
        access="admin",
        response=RecommendationSettingsByType,
    ),
    Endpoint(
        "GET",
        "/api/settings/top-picks",
        top_picks_settings,
        "The Top Picks settings of both media types",
        "settings",
        access="admin",
        response=TopPicksSettingsByType,
    ),
    Endpoint(
        "PATCH",
        "/api/settings/top-picks",
        patch_top_picks_settings,
        "Change the Top Picks settings",
        "settings",
        access="admin",
        body=TopPicksPatch,
        response=TopPicksSettingsByType,
    ),
    Endpoint(
        "GET",
        "/api/settings/output-format",
        output_format,
        "How the AI Picks libraries are written",
        "settings",
        access="admin",
        response=OutputFormat,
    ),
    Endpoint(
        "PATCH",
        "/api/settings/output-format",
        patch_output_format,
        "Change how the AI Picks libraries are written",
        "settings",
        access="admin",
        body=OutputFormatPatch,
        response=OutputFormat,
    ),
]
