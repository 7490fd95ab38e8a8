"""``create_app(settings)``: the starlette application.

The lifespan owns the shared clients (``Services``): it starts embedded PostgreSQL/Redis when no URLs
are configured, applies migrations, and, with ``run_worker``, runs the arq worker in the same process.

Routes come from one list per area (``app_routes``): health and home, the webhook receiver, the JSON API (every
``Endpoint`` listed once in ``api_endpoints``, which feeds both its routes and ``/api/openapi.json``), the pages
(which include the admin pages). Errors are mapped to
HTTP here, once (see ``sidecar.errors``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.convertors import register_url_convertor
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from providers.errors import MediaServerError, ProviderUnavailable, ScanTimeout
from sidecar import live_settings
from sidecar.embedded import Infrastructure
from sidecar.errors import Forbidden, InvalidInput, MarqueeError, NotFound, WebhookRejected
from sidecar.jobs.worker import build_worker, stop_worker
from sidecar.runtime import prepare_infrastructure
from sidecar.services import Services, open_services
from sidecar.settings import Settings
from sidecar.web import (
    admin_api,
    admin_tokens,
    api,
    api_docs,
    health,
    home,
    images,
    jobs_api,
    seed_api,
    settings_api,
    setup_database,
    setup_models,
    setup_server,
    ui,
    users_api,
)
from sidecar.web.api_spec import Endpoint, error_body, routes_of
from sidecar.web.auth import CurrentUser, current_user
from sidecar.web.form_errors import FieldErrors
from sidecar.web.middleware import (
    BODY_TIMEOUT_S,
    BodyTimeoutMiddleware,
    SecurityHeadersMiddleware,
    add_security_headers,
)
from sidecar.web.schemas import IdConvertor
from sidecar.web.templating import STATIC_DIR, templates
from sidecar.webhooks import receive

log = logging.getLogger(__name__)

StartupHook = Callable[[Services], Awaitable[None]]


def _wants_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith(("/api/", "/webhooks/", "/healthz")) or "application/json" in request.headers.get(
        "accept", ""
    )


ERROR_TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed here",
    409: "Conflict",
    422: "Invalid input",
    429: "Too many attempts",
    500: "Something went wrong",
    502: "The media server failed",
    503: "Unavailable for a moment",
}


ERROR_HINTS = {
    404: "There is no page at this address; the menu has everything Marquee shows.",
    405: "This address does not take that kind of request.",
}


async def _page_user(request: Request) -> CurrentUser | None:
    """The signed-in user, so an error page keeps their navigation; none when the session cannot be read (an
    error page must render even with the database down)."""
    if getattr(request.app.state, "services", None) is None:
        return None
    try:
        return await current_user(request)
    except Exception:
        log.debug("error page rendered without the user", exc_info=True)
        return None


async def _error_response(request: Request, status: int, message: str, field: str | None = None) -> Response:
    if request.url.path.startswith("/webhooks/"):  # the media server's sender reads nothing but the status
        return JSONResponse({"error": message}, status_code=status)
    if _wants_json(request):
        return JSONResponse(error_body(status, message, field), status_code=status)
    user = await _page_user(request)
    title = ERROR_TITLES.get(status)
    if title and message.lower() in (title.lower(), "not found", "method not allowed"):  # starlette's bare phrases
        message = ERROR_HINTS.get(status, message)
    context = {
        "status": status,
        "title": title,
        "message": message,
        "current_user": user,
        "csrf_token": user.csrf_token if user else "",
    }
    return templates.TemplateResponse(request, "error.html", context, status_code=status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    response = await _error_response(request, exc.status_code, str(exc.detail))
    response.headers.update(exc.headers or {})  # e.g. Retry-After on 429, Allow on 405
    return response


async def _marquee_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, WebhookRejected):
        return await _error_response(request, exc.status_code, str(exc))
    if isinstance(exc, NotFound):
        return await _error_response(request, 404, str(exc))
    if isinstance(exc, Forbidden):
        return await _error_response(request, 403, str(exc))
    if isinstance(exc, InvalidInput):
        return await _error_response(request, 422, str(exc), _field_of(exc))
    return await _error_response(request, 400, str(exc))


def _field_of(exc: InvalidInput) -> str | None:
    """The field at fault: the first one ``schemas.parse`` named, or the ``field: message`` prefix."""
    if isinstance(exc, FieldErrors):
        return next((name for name in exc.fields if name), None)
    head, sep, _ = str(exc).partition(": ")
    return head if sep and head.replace("_", "").replace(".", "").isalnum() and head != "body" else None


async def _media_server_error(request: Request, exc: Exception) -> Response:
    """The media server failed a call a page or the API needed: 503 when it is unreachable or busy (try
    again later), 502 when it answered wrongly or refused Marquee; the message names the server problem."""
    assert isinstance(exc, MediaServerError)
    log.warning("media server error on %s %s: %s", request.method, request.url.path, exc.message)
    status = 503 if isinstance(exc, ProviderUnavailable | ScanTimeout) else 502
    return await _error_response(request, status, f"The media server failed: {exc.message}")


async def _server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    response = await _error_response(request, 500, "Internal error; the server log has the details.")
    add_security_headers(response.headers)  # sent by ServerErrorMiddleware, outside the app's middleware
    return response


async def favicon(request: Request) -> Response:
    """For browsers and tools that ask ``/favicon.ico`` without reading the page's ``<link rel="icon">``."""
    return FileResponse(STATIC_DIR / "favicon.ico", headers={"Cache-Control": "public, max-age=604800"})


def api_endpoints() -> list[Endpoint]:
    """Every JSON endpoint, one list per module: both the routes and ``/api/openapi.json`` come from here."""
    return [
        *api.ENDPOINTS,  # auth, the caller's own data, channels
        *admin_api.ENDPOINTS,  # /api/admin/settings..., /api/admin/libraries...
        *users_api.ENDPOINTS,  # /api/admin/users..., /api/settings/ai-explanation...
        *jobs_api.ENDPOINTS,  # /api/admin/jobs..., /api/jobs..., /api/admin/webhook-events...
        *settings_api.ENDPOINTS,  # /api/settings/... (server, models, costs), /api/admin/purge/...
        *admin_tokens.ENDPOINTS,  # /api/admin/tokens...
        *seed_api.ENDPOINTS,  # the seed's paths that ours did not answer
        *api_docs.ENDPOINTS,  # /api/openapi.json
    ]


def app_routes(endpoints: Sequence[Endpoint] | None = None) -> list[BaseRoute]:
    """Every route of the app, one list per area (a renamed module fails this import, loudly)."""
    register_url_convertor("id", IdConvertor())  # {name:id} in the feature routes below
    return [
        Route("/healthz", health.healthz),
        Mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static"),
        Route("/", home.page, name="home"),
        Route("/favicon.ico", favicon),
        *receive.routes(),  # /webhooks/...
        *routes_of(api_endpoints() if endpoints is None else endpoints),  # /api/... (access checked there)
        *setup_server.routes(),  # /setup, /admin/server
        *setup_models.routes(),  # /admin/models
        *setup_database.routes(),  # /admin/database
        *admin_tokens.routes(),  # /admin/tokens
        *api_docs.routes(),  # /api-docs
        *ui.routes(),  # the pages, the admin pages included
        *images.routes(),  # /images/users|people|studios/... (faces and logos from the media server)
    ]


def create_app(
    settings: Settings,
    *,
    run_worker: bool | None = None,
    startup_hooks: Sequence[StartupHook] = (),
    body_timeout_s: float = BODY_TIMEOUT_S,
) -> Starlette:
    settings = settings.with_persisted_secrets()
    with_worker = settings.run_worker if run_worker is None else run_worker

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        embedded = settings.database_url is None or settings.redis_url is None
        infra: Infrastructure = await asyncio.to_thread(prepare_infrastructure, settings, lock=embedded)
        database_url, redis_url = infra.database_url, infra.redis_url
        worker_task: asyncio.Task[Any] | None = None
        follow_task: asyncio.Task[None] | None = None
        worker = None
        try:
            services = await open_services(settings, database_url, redis_url)
            app.state.services = services
            app.state.settings = settings
            if with_worker:
                ctx: dict[str, Any] = {"services": services, "startup_hooks": list(startup_hooks)}
                worker = build_worker(ctx, redis_url, handle_signals=False)
                worker_task = asyncio.create_task(worker.async_run(), name="arq-worker")
            else:
                for hook in startup_hooks:
                    await hook(services)
                # the worker runs elsewhere: what it switches (an embedding model) reaches this process too
                follow_task = asyncio.create_task(live_settings.follow(services), name="follow-settings")
            yield
        finally:
            if follow_task is not None:
                follow_task.cancel()
                await asyncio.gather(follow_task, return_exceptions=True)
            if worker is not None and worker_task is not None:
                await stop_worker(worker, worker_task)
            if getattr(app.state, "services", None) is not None:
                await app.state.services.aclose()
            infra.close()

    endpoints = api_endpoints()
    app = Starlette(
        routes=app_routes(endpoints),
        lifespan=lifespan,
        middleware=[
            Middleware(SecurityHeadersMiddleware),
            Middleware(BodyTimeoutMiddleware, timeout_s=body_timeout_s),
        ],
        exception_handlers={
            HTTPException: _http_error,
            MarqueeError: _marquee_error,
            MediaServerError: _media_server_error,
            Exception: _server_error,
        },
    )
    app.state.api_endpoints = endpoints  # for /api/openapi.json and the API page
    return app
