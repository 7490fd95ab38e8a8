"""Errors are mapped to HTTP once, in the app: a media-server failure gets its own clear answer, and an
``OSError`` (a ``PermissionError`` included) is a 500, never mistaken for "you may not".

Real uvicorn, real PostgreSQL/Redis and the simulator over HTTP; the app gets two extra routes that do what
a handler does when it needs the media server or the disk.
"""

from __future__ import annotations

import errno
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from providers.simulator import Simulator, serve_simulator, synthetic_catalog
from sidecar.app import app_routes, create_app
from sidecar.settings import Settings
from sidecar.web import admin_api, api, ui
from sidecar.web.api_spec import routes_of
from sidecar.web.auth import require_user, services_of
from sidecar.webhooks import receive
from tests.servers import serve
from tests.web.conftest import web_settings


async def _server_info(request: Request) -> Response:
    server = services_of(request).media_server
    assert server is not None
    info = await server.server_info()
    return JSONResponse({"name": info.name})


@require_user
async def _unreadable_file(request: Request) -> Response:
    raise PermissionError(errno.EACCES, "Permission denied", "/srv/media/AI Picks/movie.strm")


TEST_ROUTES = [
    Route("/api/test/server-info", _server_info),
    Route("/test/server-info", _server_info),
    Route("/api/test/unreadable-file", _unreadable_file),
]


@asynccontextmanager
async def _marquee(settings: Settings, simulator: Simulator, url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(web_settings(settings, url, simulator.admin_api_key), run_worker=False)
    app.router.routes.extend(TEST_ROUTES)
    async with serve(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
        yield client


def _simulator() -> Simulator:
    return Simulator("jellyfin", catalog=synthetic_catalog(6, 1, seed=3), users=["alice"], seed=7)


def test_every_area_is_wired_explicitly() -> None:
    """The app's routes are the health/home routes plus each area's list: nothing is found by importing."""
    import sidecar.app

    paths = [getattr(route, "path", None) for route in app_routes()]
    assert paths[:3] == ["/healthz", "/static", "/"]
    for area in (receive.routes(), routes_of(api.ENDPOINTS), routes_of(admin_api.ENDPOINTS), ui.routes()):
        assert {getattr(route, "path", None) for route in area} <= set(paths)
    assert {"/webhooks/jellyfin", "/webhooks/emby", "/api/me", "/login", "/picks", "/admin/jobs"} <= set(paths)
    assert not hasattr(sidecar.app, "register_routes")


@pytest.mark.usefixtures("clean_db", "clean_redis")
async def test_a_faulty_media_server_gets_a_clear_json_error_and_page(settings: Settings) -> None:
    simulator = _simulator()
    async with serve_simulator(simulator) as url, _marquee(settings, simulator, url) as client:
        assert (await client.get("/api/test/server-info")).status_code == 200

        simulator.inject_fault(500, count=10, path_contains="/system/info")  # 5xx after every retry
        unavailable = await client.get("/api/test/server-info")
        assert unavailable.status_code == 503
        message = unavailable.json()["error"]["message"]
        assert message.startswith("The media server failed: ") and "Jellyfin at " in message

        simulator.faults.clear()
        simulator.inject_fault(401, count=1, path_contains="/system/info")  # the API key was revoked
        page = await client.get("/test/server-info")
        assert page.status_code == 502
        assert page.headers["content-type"].startswith("text/html")
        assert "<h1>502</h1>" in page.text and "The media server failed: " in page.text
        assert page.headers["x-content-type-options"] == "nosniff"


@pytest.mark.usefixtures("clean_db", "clean_redis")
async def test_a_media_server_that_is_down_is_a_503_naming_it(settings: Settings) -> None:
    simulator = _simulator()
    async with serve_simulator(simulator) as url:
        pass  # started and stopped: nothing listens at url any more
    async with _marquee(settings, simulator, url) as client:
        down = await client.get("/api/test/server-info")
        assert down.status_code == 503
        assert down.json()["error"]["message"].startswith("The media server failed: ")
        assert url.split("//", 1)[1] in down.json()["error"]["message"]


@pytest.mark.usefixtures("clean_db", "clean_redis")
async def test_a_file_permission_error_is_a_500_not_a_403(settings: Settings) -> None:
    simulator = _simulator()
    async with serve_simulator(simulator) as url, _marquee(settings, simulator, url) as client:
        login = await client.post(
            "/api/auth/login", json={"name": "alice", "password": simulator.user("alice").password}
        )
        assert login.status_code == 200, login.text
        response = await client.get("/api/test/unreadable-file")
        assert response.status_code == 500
        assert response.json() == {
            "error": {"code": "internal_error", "message": "Internal error; the server log has the details."}
        }
