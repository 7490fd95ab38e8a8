"""The API described: ``GET /api/openapi.json`` (OpenAPI 3.1, public: it holds no data) and the readable API page
(``/api-docs``: every endpoint by tag with its method, path, summary and who may call it). Both come from the
one list of ``Endpoint`` that routes the API (``sidecar.app.api_endpoints``, kept on ``app.state``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sidecar import __version__
from sidecar.web.api_spec import Endpoint, openapi_document, openapi_path
from sidecar.web.json_io import ok
from sidecar.web.rendering import render

ACCESS_LABELS = {"public": "anyone", "user": "a user (their own data)", "admin": "admins"}


def endpoints_of(request: Request) -> Sequence[Endpoint]:
    endpoints: Sequence[Endpoint] = request.app.state.api_endpoints
    return endpoints


def _document(request: Request) -> dict[str, Any]:
    """Built once per app (the endpoints do not change while it runs)."""
    state = request.app.state
    if getattr(state, "openapi", None) is None:
        state.openapi = openapi_document(endpoints_of(request), version=__version__)
    document: dict[str, Any] = state.openapi
    return document


async def openapi_json(request: Request) -> Response:
    return ok(_document(request))


ENDPOINTS: list[Endpoint] = [
    Endpoint(
        "GET",
        "/api/openapi.json",
        openapi_json,
        "This API described in OpenAPI 3.1",
        "meta",
        access="public",
        response=dict[str, Any],
    ),
]


def grouped(endpoints: Sequence[Endpoint]) -> list[tuple[str, list[dict[str, str]]]]:
    """The endpoints by tag, in the order the tags first appear, each sorted by path then method."""
    order = ("GET", "POST", "PUT", "PATCH", "DELETE")
    groups: dict[str, list[Endpoint]] = {}
    for endpoint in endpoints:
        groups.setdefault(endpoint.tag, []).append(endpoint)
    return [
        (
            tag,
            [
                {
                    "method": e.method,
                    "path": openapi_path(e.path),
                    "summary": e.summary,
                    "access": e.access,
                    "access_label": ACCESS_LABELS[e.access],
                }
                for e in sorted(rows, key=lambda e: (openapi_path(e.path), order.index(e.method)))
            ],
        )
        for tag, rows in groups.items()
    ]


async def api_page(request: Request) -> Response:
    endpoints = endpoints_of(request)
    return await render(
        request,
        "api_docs.html",
        {
            "groups": grouped(endpoints),
            "count": len(endpoints),
            "base_url": str(request.base_url).rstrip("/"),
            "page": "api-docs",
        },
    )


def routes() -> list[BaseRoute]:
    return [Route("/api-docs", api_page, methods=["GET"])]
