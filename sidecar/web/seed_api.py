"""The seed's API paths that Marquee's own API did not answer, in one list for ``sidecar.app.api_endpoints``:
the new endpoints (users, catalogue, recommendations and Top Picks, settings in the seed's grouping) and a
second path for an existing handler where the meaning is the same (``/api/auth/me`` is ``/api/me``; the
libraries and the per-type recommendation settings are ``/api/admin/…``'s).

The seed's other paths (login and logout, channels, media server, models, cost inputs, explanations, jobs,
purge) are declared where their handlers live.
"""

from __future__ import annotations

from sidecar import runtime_settings as rs
from sidecar.media_types import MediaType
from sidecar.web import admin_api, api, catalogue_api, recommendations_api, seed_settings_api, seed_users_api
from sidecar.web import api_models as m
from sidecar.web.api_spec import Endpoint
from sidecar.web.schemas import LibraryPatch

SAME_HANDLERS: list[Endpoint] = [
    Endpoint("GET", "/api/auth/me", api.me, "The caller (as GET /api/me)", "auth", response=m.Me),
    Endpoint(
        "GET",
        "/api/settings/libraries",
        admin_api.admin_libraries,
        "The media server's libraries (as GET /api/admin/libraries)",
        "settings",
        access="admin",
        response=m.Libraries,
    ),
    Endpoint(
        "PATCH",
        "/api/settings/libraries/{library_id:id}",
        admin_api.admin_library,
        "Use a library or not (as PATCH /api/admin/libraries/{library_id})",
        "settings",
        access="admin",
        body=LibraryPatch,
        response=m.Library,
    ),
    Endpoint(
        "PATCH",
        "/api/settings/recommendations/{media_type}",
        admin_api.admin_patch_recommendations,
        "Change the recommendation settings of movies or series (the fields sent)",
        "settings",
        access="admin",
        body=rs.RecommendationSettings,
        response=rs.RecommendationSettings,
        params={"media_type": MediaType},
    ),
]

ENDPOINTS: list[Endpoint] = [
    *SAME_HANDLERS,
    *seed_users_api.ENDPOINTS,
    *recommendations_api.ENDPOINTS,
    *catalogue_api.ENDPOINTS,
    *seed_settings_api.ENDPOINTS,
]
