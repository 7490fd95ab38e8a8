"""The admin's JSON API about users, under ``/api/admin/users``, and the explanation settings at Aperture's
paths (``/api/settings/ai-explanation[/user/{id}]``). The pages are in ``sidecar.web.admin_users``.

Every endpoint is for media-server administrators (``access="admin"``, enforced by ``api_spec.routes_of``).
A change that alters a user's libraries queues their follow-up at once.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from sidecar import runtime_settings as rs
from sidecar.db.models import AppUser
from sidecar.media_types import MEDIA_TYPES
from sidecar.web import actions
from sidecar.web import api_models as m
from sidecar.web.api_spec import Endpoint
from sidecar.web.auth import services_of
from sidecar.web.json_io import body_of, json_of, ok, path_int
from sidecar.web.read_models import picks as pick_reads
from sidecar.web.read_models import taste as taste_reads
from sidecar.web.read_models import users as user_reads
from sidecar.web.read_models.recommendation_runs import recommendation_runs
from sidecar.web.schemas import Input, UserPatch, parse


def _explanations_of(explanations: rs.ExplanationSettings, user: AppUser) -> dict[str, Any]:
    return {
        "granted": user.may_override_explanations,
        "may_choose": rs.may_choose_explanations(explanations, user),
        "choice": user.show_explanations,
        "effective": rs.effective_explanations(explanations, user),
    }


async def users(request: Request) -> Response:
    """Every user, with admin, disabled and all-libraries as the media server says now (``note`` when it
    could not be asked)."""
    services = services_of(request)
    rows, note = await user_reads.users_as_the_server_says(services)
    return ok({"users": [user_reads.user_view(u) for u in rows], "note": note})


async def user_detail(request: Request) -> Response:
    services = services_of(request)
    user_id = path_int(request, "user_id")
    async with services.sessions() as session:
        user = await user_reads.get_user(session, user_id)
        explanations = await rs.load(session, rs.EXPLANATIONS)
        body = {
            **user_reads.user_view(user),
            "explanations": _explanations_of(explanations, user),
            "libraries": await user_reads.library_names(session, user, services.settings.library_name_prefix),
            "taste": await taste_reads.taste_profiles(session, user_id),
            "picks": {mt: await pick_reads.picks(session, user_id, mt) for mt in MEDIA_TYPES},
            "recommendation_runs": await recommendation_runs(session, user_id),
        }
    return ok(body)


async def patch_user(request: Request) -> Response:
    data = await body_of(request, UserPatch)
    services = services_of(request)
    user_id = path_int(request, "user_id")
    async with services.sessions() as session:
        explanations = await rs.load(session, rs.EXPLANATIONS)
        row, requests = await actions.patch_user(session, user_id, data, explanations)
    await actions.follow_up(services, user_id, requests)
    return ok({**user_reads.user_view(row), "explanations": _explanations_of(explanations, row)})


async def user_runs(request: Request) -> Response:
    user_id = path_int(request, "user_id")
    async with services_of(request).sessions() as session:
        await user_reads.get_user(session, user_id)
        return ok({"runs": await recommendation_runs(session, user_id)})


# --- the seed's explanation settings ---------------------------------------------------------------


async def explanation_settings(request: Request) -> Response:
    async with services_of(request).sessions() as session:
        return ok((await rs.load(session, rs.EXPLANATIONS)).model_dump())


async def patch_explanation_settings(request: Request) -> Response:
    """Merge the JSON object over the current settings; users whose effective value changed get their
    libraries rewritten."""
    changes = await json_of(request)
    if not isinstance(changes, dict):
        raise HTTPException(422, "body: send a JSON object with the fields to change")
    services = services_of(request)
    async with services.sessions() as session:
        current = await rs.load(session, rs.EXPLANATIONS)
    value = parse(rs.ExplanationSettings, rs.merge(current.model_dump(), changes))  # InvalidInput: 422
    rewriting = await actions.save_explanations(services, value)
    return ok({**value.model_dump(), "users_rewritten": rewriting})


class UserExplanationPatch(Input):
    granted: bool = Field(description="The admin lets this user choose whether their libraries explain picks.")


async def user_explanations(request: Request) -> Response:
    user_id = path_int(request, "user_id")
    async with services_of(request).sessions() as session:
        user = await user_reads.get_user(session, user_id)
        return ok(_explanations_of(await rs.load(session, rs.EXPLANATIONS), user))


async def patch_user_explanations(request: Request) -> Response:
    data = await body_of(request, UserExplanationPatch)
    services = services_of(request)
    user_id = path_int(request, "user_id")
    async with services.sessions() as session:
        explanations = await rs.load(session, rs.EXPLANATIONS)
        row, requests = await actions.patch_user(
            session, user_id, UserPatch(may_override_explanations=data.granted), explanations
        )
    await actions.follow_up(services, user_id, requests)
    return ok(_explanations_of(explanations, row))


ENDPOINTS: list[Endpoint] = [
    Endpoint(
        "GET",
        "/api/admin/users",
        users,
        "Every user, as the media server says now",
        "admin",
        access="admin",
        response=m.UserList,
    ),
    Endpoint(
        "GET",
        "/api/admin/users/{user_id:id}",
        user_detail,
        "One user: picks, taste, libraries, recommendation runs, explanations",
        "admin",
        access="admin",
        response=m.UserDetail,
    ),
    Endpoint(
        "PATCH",
        "/api/admin/users/{user_id:id}",
        patch_user,
        "Turn a user's picks on or off; the grant",
        "admin",
        access="admin",
        body=UserPatch,
        response=m.UserWithGrant,
    ),
    Endpoint(
        "GET",
        "/api/admin/users/{user_id:id}/recommendation-runs",
        user_runs,
        "A user's recommendation runs, newest first",
        "admin",
        access="admin",
        response=m.RecommendationRuns,
    ),
    Endpoint(
        "GET",
        "/api/settings/ai-explanation",
        explanation_settings,
        "The explanations settings",
        "settings",
        access="admin",
        response=m.ExplanationSettingsOut,
    ),
    Endpoint(
        "PATCH",
        "/api/settings/ai-explanation",
        patch_explanation_settings,
        "Change the explanations settings (the fields sent)",
        "settings",
        access="admin",
        body=rs.ExplanationSettings,
        response=m.ExplanationSettingsSaved,
    ),
    Endpoint(
        "GET",
        "/api/settings/ai-explanation/user/{user_id:id}",
        user_explanations,
        "A user's explanations: the grant, their choice, the effective value",
        "settings",
        access="admin",
        response=m.ExplanationGrant,
    ),
    Endpoint(
        "PATCH",
        "/api/settings/ai-explanation/user/{user_id:id}",
        patch_user_explanations,
        "Grant or withdraw a user's own explanations choice",
        "settings",
        access="admin",
        body=UserExplanationPatch,
        response=m.ExplanationGrant,
    ),
]
