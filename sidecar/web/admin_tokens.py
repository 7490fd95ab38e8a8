"""Admin → API tokens (``/admin/tokens``): the live tokens, create one (name + the user it acts as), revoke;
and their JSON (``GET/POST /api/admin/tokens``, ``DELETE /api/admin/tokens/{id}``).

A new token's value is in the one answer that creates it (``Cache-Control: no-store``) and nowhere else:
the database keeps its hash (``sidecar.api_tokens``), nothing logs it.
"""

from __future__ import annotations

import logging
from dataclasses import asdict

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sidecar import api_tokens
from sidecar.errors import InvalidInput
from sidecar.web import api_models as m
from sidecar.web import auth
from sidecar.web.api_spec import Endpoint
from sidecar.web.auth import require_admin, services_of, user_of
from sidecar.web.json_io import body_of, ok, path_int
from sidecar.web.read_models import users as user_reads
from sidecar.web.rendering import render, see_other
from sidecar.web.schemas import DbId, Input

log = logging.getLogger(__name__)

NO_STORE = {"Cache-Control": "no-store"}


class TokenIn(Input):
    name: str = Field(min_length=1, max_length=api_tokens.NAME_MAX, description="Which script uses it.")
    user_id: DbId = Field(description="The user the token acts as (an admin's token acts as an admin).")


# --- JSON ------------------------------------------------------------------------------------------


async def tokens(request: Request) -> Response:
    async with services_of(request).sessions() as session:
        rows = await api_tokens.list_tokens(session)
    return ok({"tokens": [asdict(row) for row in rows]})


async def create_token(request: Request) -> Response:
    """The answer holds the token itself: keep it, it is not shown again."""
    data = await body_of(request, TokenIn)
    admin = await user_of(request)
    async with services_of(request).sessions() as session:
        view, token = await api_tokens.create(session, data.name, data.user_id, admin.id)
    log.info("%s created API token %d (%s) for user %d", admin.name, view.id, view.name, view.user_id)
    response = ok({**asdict(view), "token": token}, 201)
    response.headers.update(NO_STORE)
    return response


async def revoke_token(request: Request) -> Response:
    admin = await user_of(request)
    async with services_of(request).sessions() as session:
        view = await api_tokens.revoke(session, path_int(request, "token_id"))
    log.info("%s revoked API token %d (%s)", admin.name, view.id, view.name)
    return ok(asdict(view))


ENDPOINTS: list[Endpoint] = [
    Endpoint("GET", "/api/admin/tokens", tokens, "The live API tokens", "tokens", access="admin", response=m.ApiTokens),
    Endpoint(
        "POST",
        "/api/admin/tokens",
        create_token,
        "Create an API token acting as a user (the token is in this answer only)",
        "tokens",
        access="admin",
        body=TokenIn,
        response=m.ApiTokenCreated,
        status=201,
    ),
    Endpoint(
        "DELETE",
        "/api/admin/tokens/{token_id:id}",
        revoke_token,
        "Revoke an API token (it authenticates nobody from now on)",
        "tokens",
        access="admin",
        response=m.ApiToken,
    ),
]


# --- the page --------------------------------------------------------------------------------------


async def _page(
    request: Request,
    *,
    created: dict[str, object] | None = None,
    error: str | None = None,
    typed: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    services = services_of(request)
    async with services.sessions() as session:
        rows = await api_tokens.list_tokens(session)
        users = await user_reads.live_users(session)
    notice = "Revoked." if request.query_params.get("revoked") == "1" else None
    response = await render(
        request,
        "admin_tokens.html",
        {
            "tokens": rows,
            "users": users,
            "created": created,
            "error": error,
            "notice": notice,
            "form": typed or {},
            "page": "admin-tokens",
        },
        status,
    )
    response.headers.update(NO_STORE)
    return response


@require_admin
async def tokens_page(request: Request) -> Response:
    return await _page(request)


@require_admin
async def tokens_create(request: Request) -> Response:
    form = await auth.checked_form(request)
    admin = await user_of(request)
    typed = {"name": str(form.get("name") or ""), "user_id": str(form.get("user_id") or "")}
    try:
        raw_user = typed["user_id"]
        if not raw_user.isascii() or not raw_user.isdigit() or len(raw_user) > 10:
            raise InvalidInput("Choose the user the token acts as.")
        async with services_of(request).sessions() as session:
            view, token = await api_tokens.create(session, typed["name"], int(raw_user), admin.id)
    except InvalidInput as exc:
        return await _page(request, error=str(exc).removeprefix("name: ").capitalize(), typed=typed, status=400)
    log.info("%s created API token %d (%s) for user %d", admin.name, view.id, view.name, view.user_id)
    return await _page(request, created={**asdict(view), "token": token})


@require_admin
async def tokens_revoke(request: Request) -> Response:
    await auth.checked_form(request)
    admin = await user_of(request)
    async with services_of(request).sessions() as session:
        view = await api_tokens.revoke(session, path_int(request, "token_id"))
    log.info("%s revoked API token %d (%s)", admin.name, view.id, view.name)
    return see_other("/admin/tokens?revoked=1")


def routes() -> list[BaseRoute]:
    return [
        Route("/admin/tokens", tokens_page, methods=["GET"]),
        Route("/admin/tokens", tokens_create, methods=["POST"]),
        Route("/admin/tokens/{token_id:id}/revoke", tokens_revoke, methods=["POST"]),
    ]
