"""Who may open Admin → Server: an admin, or (while no server is configured, so nobody can log in) whoever
holds the setup code from the log; and rendering for both (setup mode has no session, so a pre-login CSRF
token)."""

from __future__ import annotations

import functools
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from sidecar import server_setup
from sidecar.web import auth
from sidecar.web.auth import Handler, services_of
from sidecar.web.rendering import render, see_other

SETUP_COOKIE = "marquee_setup"


def in_place(request: Request) -> bool:
    """Test and Estimate asked by the page's script (static/admin-setup.js), which shows the answer in place."""
    return "application/json" in request.headers.get("accept", "")


def setup_mode(request: Request) -> bool:
    services = services_of(request)
    return services.media_server is None and server_setup.code_matches(
        services.settings, request.cookies.get(SETUP_COOKIE)
    )


def admin_or_setup(handler: Handler) -> Handler:
    """An admin, or (while no server is configured, so nobody can log in) whoever holds the setup code."""

    @functools.wraps(handler)
    async def inner(request: Request) -> Response:
        user = await auth.current_user(request)
        if user is not None and user.is_admin:
            return await handler(request)
        if setup_mode(request):
            return await handler(request)
        if services_of(request).media_server is None:
            return see_other("/setup")
        if user is None:
            return auth.login_redirect(request)
        raise HTTPException(403, "This page is for media-server administrators.")

    return inner


async def render_setup(request: Request, template: str, context: dict[str, Any], status: int = 200) -> Response:
    """Render for an admin, or in setup mode with the pre-login CSRF token (no session exists yet)."""
    user = await auth.current_user(request)
    if user is not None:
        return await render(request, template, context, status)
    seed, fresh = auth.prelogin_seed(request)
    response = await render(
        request,
        template,
        {**context, "csrf_token": auth.csrf_token_for(services_of(request).settings, seed), "setup_mode": True},
        status,
    )
    if fresh:
        auth.set_prelogin_cookie(request, response, seed)
    return response
