"""Admin → Server (``/admin/server``): type, URL, API key; Test Connection; Save applies at once; library
re-fetch. With no server at all, ``/setup`` takes the setup code from the log and opens this page without a
login. The JSON twins are in ``sidecar.web.settings_api``."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from providers.errors import MediaServerError
from sidecar import server_setup
from sidecar.errors import InvalidInput, JobError
from sidecar.sync.libraries import sync_libraries
from sidecar.web import auth
from sidecar.web.auth import require_admin, services_of
from sidecar.web.json_io import ok
from sidecar.web.read_models import server as server_reads
from sidecar.web.rendering import see_other
from sidecar.web.server_form import libraries_message, parse_server_form, save_server, server_view
from sidecar.web.setup_access import SETUP_COOKIE, admin_or_setup, in_place, render_setup


async def setup_page(request: Request, *, error: str | None = None, status: int = 200) -> Response:
    if services_of(request).media_server is not None:
        return see_other("/login?next=%2Fadmin%2Fserver")
    return await render_setup(request, "admin_setup_code.html", {"error": error, "page": "admin-server"}, status)


async def setup_get(request: Request) -> Response:
    return await setup_page(request)


async def setup_submit(request: Request) -> Response:
    form = await auth.checked_form(request)
    services = services_of(request)
    if services.media_server is not None:
        return see_other("/login?next=%2Fadmin%2Fserver")
    code = str(form.get("code") or "")
    if not server_setup.code_matches(services.settings, code):
        return await setup_page(
            request,
            error="That is not the setup code: Marquee's log shows it in the line 'No media server…'.",
            status=403,
        )
    response = see_other("/admin/server")
    response.set_cookie(
        SETUP_COOKIE, server_setup.setup_code(services.settings), httponly=True, samesite="strict", path="/"
    )
    return response


async def _server_page(
    request: Request,
    *,
    error: str | None = None,
    notice: str | None = None,
    typed: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    services = services_of(request)
    async with services.sessions() as session:
        server = await server_reads.media_server_info(session) if services.media_server is not None else None
        libraries = [server_reads.library_view(lib) for lib in await server_reads.source_libraries(session)]
    view = server_view(services)
    shown = {"type": view["type"] or "jellyfin", "url": view["url"] or "", **(typed or {})}
    saved = request.query_params.get("saved") == "1"
    return await render_setup(
        request,
        "admin_server.html",
        {
            "view": view,
            "form": shown,
            "server": server,
            "libraries": libraries,
            "error": error,
            "notice": notice or ("Saved." if saved else None),
            "page": "admin-server",
        },
        status,
    )


@admin_or_setup
async def server_page(request: Request) -> Response:
    return await _server_page(request)


def _typed(form: FormData) -> dict[str, Any]:
    return {"type": form.get("type"), "url": str(form.get("url") or "")}


@admin_or_setup
async def server_test(request: Request) -> Response:
    form = await auth.checked_form(request)
    services = services_of(request)
    try:
        checked = parse_server_form(services, dict(form))
        info = await server_setup.test_connection(checked.type, checked.url, checked.api_key)
    except InvalidInput as exc:
        if in_place(request):
            return ok({"error": str(exc)}, 400)
        return await _server_page(request, error=str(exc), typed=_typed(form), status=400)
    if in_place(request):
        return ok({"message": server_setup.connected_message(info), "name": info.name, "version": info.version})
    return await _server_page(request, notice=server_setup.connected_message(info), typed=_typed(form))


@admin_or_setup
async def server_save(request: Request) -> Response:
    form = await auth.checked_form(request)
    services = services_of(request)
    setup_mode = await auth.current_user(request) is None
    try:
        message = await save_server(services, parse_server_form(services, dict(form)))
    except InvalidInput as exc:
        return await _server_page(request, error=str(exc), typed=_typed(form), status=400)
    if setup_mode:  # the server is set: from now on the admin logs in with their server account
        response = see_other("/login?next=%2Fadmin%2Fserver%3Fsaved%3D1")
        response.delete_cookie(SETUP_COOKIE, path="/")
        return response
    return await _server_page(request, notice=message)


@require_admin
async def server_libraries(request: Request) -> Response:
    await auth.checked_form(request)
    services = services_of(request)
    try:
        found = await sync_libraries(services)
    except (MediaServerError, JobError) as exc:
        return await _server_page(request, error=f"Fetching the libraries failed: {exc}", status=502)
    return await _server_page(request, notice=libraries_message(found))


def routes() -> list[BaseRoute]:
    return [
        Route("/setup", setup_get, methods=["GET"]),
        Route("/setup", setup_submit, methods=["POST"]),
        Route("/admin/server", server_page, methods=["GET"]),
        Route("/admin/server", server_save, methods=["POST"]),
        Route("/admin/server/test", server_test, methods=["POST"]),
        Route("/admin/server/libraries", server_libraries, methods=["POST"]),
    ]
