"""Admin → Database (``/admin/database``): counts; purge movies / series / everything after typing the word.
The JSON twins are in ``sidecar.web.settings_api``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sidecar import purge
from sidecar.errors import InvalidInput
from sidecar.web import auth
from sidecar.web.auth import require_admin, services_of
from sidecar.web.purge_confirm import check_confirmation, purge_target
from sidecar.web.rendering import render


async def _database_page(
    request: Request, *, error: str | None = None, notice: str | None = None, status: int = 200
) -> Response:
    services = services_of(request)
    return await render(
        request,
        "admin_database.html",
        {
            "counts": await purge.database_counts(services),
            "targets": purge.PURGE_TARGETS,
            "error": error,
            "notice": notice,
            "page": "admin-database",
        },
        status,
    )


@require_admin
async def database_page(request: Request) -> Response:
    return await _database_page(request)


@require_admin
async def database_purge(request: Request) -> Response:
    form = await auth.checked_form(request)
    services = services_of(request)
    target = purge_target(request.path_params["target"])
    try:
        check_confirmation(target, form.get("confirm"))
    except InvalidInput as exc:
        return await _database_page(request, error=str(exc), status=400)
    result = await purge.purge(services, target)
    labels = {"series": "series, seasons and episodes", "webhook_events": "webhook events", "libraries": "libraries"}
    deleted = ", ".join(f"{count:,} {labels.get(what, what)}" for what, count in result.deleted.items())
    recovery = (
        "The sync that brings them back has started (Admin → Jobs)."
        if result.sync_queued
        else "Run initial-sync (Admin → Jobs) to bring them back."
    )
    return await _database_page(request, notice=f"Purged {target}: {deleted} deleted. {recovery}")


def routes() -> list[BaseRoute]:
    return [
        Route("/admin/database", database_page, methods=["GET"]),
        Route("/admin/database/purge/{target}", database_purge, methods=["POST"]),
    ]
