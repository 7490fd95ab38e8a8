"""One declaration per JSON endpoint, feeding both the routing and the OpenAPI document.

Each API module exposes a list of ``Endpoint``; ``sidecar.app.api_endpoints()`` lists them all, once, and
``routes_of`` turns them into starlette routes while ``openapi_document`` describes them (``GET
/api/openapi.json``), so the document and the behaviour cannot disagree:

- **Access** is enforced here, in one place: ``routes_of`` wraps each handler by its ``access``
  ("public": anyone; "user": a logged-in user or an API token, 401 otherwise; "admin": a media-server
  administrator, 403 otherwise). Handlers carry no auth decorator of their own; inside one,
  ``await auth.user_of(request)`` is the caller (a token acts as its owner). Writes with the login cookie
  need the ``X-CSRF-Token`` header; with ``Authorization: Bearer <token>`` they do not.
- **Inputs** are read by the handler as before (``json_io.query_of(request, Model)``,
  ``json_io.body_of(request, Model)``); ``query``/``body`` name those same models so the document shows them.
  Path parameters come from the path: ``{x:id}`` is a row id (integer); others are strings unless
  ``params`` gives their type (e.g. ``{"media_type": MediaType}``, ``{"user_ref": int | Literal["me"]}``).
- **Responses**: ``response`` is a pydantic model class or a type such as ``list[Model]`` (no hand-written
  JSON schema); ``None`` documents no body schema (204, a server-sent event stream). ``status`` is the
  success status. Every error is ``{"error": {"code", "message", "field"?}}`` (``ErrorBody``), documented
  once and raised as usual (``HTTPException``, ``InvalidInput``, ``NotFound``, ``Forbidden``).

Example (a module ``sidecar/web/things_api.py``)::

    from sidecar.web.api_spec import Endpoint
    from sidecar.web.auth import services_of, user_of
    from sidecar.web.json_io import ok, query_of

    class ThingsQuery(Input):                      # sidecar.web.schemas.Input: extra="forbid"
        limit: int = Field(default=50, ge=1, le=500)
        offset: int = Field(default=0, ge=0)

    class Thing(BaseModel):
        id: int
        name: str

    class ThingPage(BaseModel):                     # the paging convention: items, total, limit, offset
        things: list[Thing]
        total: int
        limit: int
        offset: int

    async def things(request: Request) -> Response:
        user = await user_of(request)
        q = query_of(request, ThingsQuery)
        ...
        return ok({"things": rows, "total": total, "limit": q.limit, "offset": q.offset})

    ENDPOINTS = [
        Endpoint("GET", "/api/users/{user_ref}/things", things, "The user's things, newest first", "users",
                 query=ThingsQuery, response=ThingPage, params={"user_ref": int | Literal["me"]}),
    ]
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field, TypeAdapter
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sidecar.web import auth
from sidecar.web.schemas import DbId

Access = Literal["public", "user", "admin"]
Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
Handler = Callable[[Request], Awaitable[Response]]

REF_TEMPLATE = "#/components/schemas/{model}"
_PARAM = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z_]+))?}")


@dataclass(frozen=True, slots=True)
class Endpoint:
    method: Method
    path: str  # starlette path, e.g. "/api/users/{user_ref}/stats"
    handler: Handler
    summary: str
    tag: str  # "auth", "users", "movies", ...
    access: Access = "user"
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    response: Any = None  # a pydantic model class or a type like list[Model]; None = no schema (204, SSE)
    status: int = 200
    params: Mapping[str, Any] = field(default_factory=dict)  # path parameter types beyond str and {x:id}
    description: str | None = None  # longer text under the summary; the handler's docstring when None
    media_type: str = "application/json"  # of the success response ("text/event-stream" for streams)


# --- the one error shape ---------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    code: str = Field(description="Machine-readable: not_found, forbidden, invalid_input, unauthorized, ...")
    message: str = Field(description="What went wrong, for a person.")
    field: str | None = Field(default=None, description="The input field at fault, when there is one.")


class ErrorBody(BaseModel):
    """Every error of the API: ``{"error": {"code": "...", "message": "...", "field": "..."}}``."""

    error: ErrorDetail


ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "too_many_requests",
    500: "internal_error",
    502: "media_server_failed",
    503: "unavailable",
}


def error_body(status: int, message: str, field: str | None = None) -> dict[str, Any]:
    """The JSON of an error response (``ErrorBody``); ``field`` when the input at fault is known."""
    detail: dict[str, Any] = {"code": ERROR_CODES.get(status, f"http_{status}"), "message": message}
    if field:
        detail["field"] = field
    return {"error": detail}


# --- routing ---------------------------------------------------------------------------------------


def guarded(access: Access, handler: Handler) -> Handler:
    """The handler behind its access check (the only place the API checks who calls)."""
    if access == "admin":
        return auth.require_admin(handler)
    if access == "user":
        return auth.require_user(handler)
    return handler


def routes_of(endpoints: Sequence[Endpoint]) -> list[Route]:
    """One starlette ``Route`` per path (its methods dispatched to their endpoints), in first-seen order."""
    by_path: dict[str, dict[str, Handler]] = {}
    for endpoint in endpoints:
        methods = by_path.setdefault(endpoint.path, {})
        if endpoint.method in methods:
            raise ValueError(f"{endpoint.method} {endpoint.path} is declared twice")
        methods[endpoint.method] = guarded(endpoint.access, endpoint.handler)
    return [Route(path, _dispatch(handlers), methods=list(handlers)) for path, handlers in by_path.items()]


def _dispatch(handlers: dict[str, Handler]) -> Handler:
    if len(handlers) == 1:
        return next(iter(handlers.values()))

    async def by_method(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await handlers[method](request)  # starlette answered 405 for the others

    return by_method


# --- the document ----------------------------------------------------------------------------------


def openapi_path(path: str) -> str:
    """``/api/items/{item_id:id}`` → ``/api/items/{item_id}``."""
    return _PARAM.sub(lambda m: "{" + m.group(1) + "}", path)


def _param_schema(endpoint: Endpoint, name: str, convertor: str | None) -> dict[str, Any]:
    default = {"id": DbId, "int": int}.get(convertor or "", str)
    kind = endpoint.params.get(name, default)
    return TypeAdapter(kind).json_schema(ref_template=REF_TEMPLATE)


def _query_parameters(model: type[BaseModel], components: dict[str, Any]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=REF_TEMPLATE)
    components.update(schema.get("$defs", {}))
    required = set(schema.get("required", []))
    out = []
    for name, prop in schema.get("properties", {}).items():
        param: dict[str, Any] = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if "description" in prop:
            param["description"] = prop["description"]
        out.append(param)
    return out


def _error_responses(endpoint: Endpoint) -> dict[str, Any]:
    ref = {"content": {"application/json": {"schema": {"$ref": REF_TEMPLATE.format(model="ErrorBody")}}}}
    codes: dict[str, str] = {}
    if endpoint.body is not None or endpoint.query is not None or _PARAM.search(endpoint.path):
        codes["422"] = "Invalid input (``field`` names it)"
    if _PARAM.search(endpoint.path):
        codes["404"] = "Not found"
    if endpoint.access != "public":
        codes["401"] = "Not logged in, or an unknown or revoked API token"
        codes["403"] = "Not allowed (another user's data, an admin endpoint, or a missing CSRF header)"
    responses = {code: {"description": text, **ref} for code, text in sorted(codes.items())}
    responses["default"] = {"description": "Any other error, in the same shape", **ref}
    return responses


def _operation_id(endpoint: Endpoint) -> str:
    words = re.sub(r"[{}]", "", openapi_path(endpoint.path)).strip("/").replace("-", "_").split("/")
    return endpoint.method.lower() + "_" + "_".join(w for w in words if w)


def openapi_document(endpoints: Sequence[Endpoint], *, version: str, title: str = "Marquee API") -> dict[str, Any]:
    """OpenAPI 3.1 for the endpoints, every schema generated by pydantic into ``components.schemas``."""
    inputs: list[tuple[tuple[str, int], Literal["validation", "serialization"], TypeAdapter[Any]]] = [
        (("ErrorBody", -1), "serialization", TypeAdapter(ErrorBody))
    ]
    for index, endpoint in enumerate(endpoints):
        if endpoint.body is not None:
            inputs.append((("body", index), "validation", TypeAdapter(endpoint.body)))
        if endpoint.response is not None:
            inputs.append((("response", index), "serialization", TypeAdapter(endpoint.response)))
    schemas, definitions = TypeAdapter.json_schemas(inputs, ref_template=REF_TEMPLATE)
    components: dict[str, Any] = dict(definitions.get("$defs", {}))

    paths: dict[str, dict[str, Any]] = {}
    for index, endpoint in enumerate(endpoints):
        operation: dict[str, Any] = {
            "operationId": _operation_id(endpoint),
            "summary": endpoint.summary,
            "tags": [endpoint.tag],
            "x-access": endpoint.access,
        }
        description = endpoint.description or (endpoint.handler.__doc__ or "").strip()
        if description:
            operation["description"] = " ".join(description.split())
        if endpoint.access != "public":
            operation["security"] = [{"bearerToken": []}, {"sessionCookie": []}]
        parameters = [
            {"name": m.group(1), "in": "path", "required": True, "schema": _param_schema(endpoint, *m.groups())}
            for m in _PARAM.finditer(endpoint.path)
        ]
        if endpoint.query is not None:
            parameters += _query_parameters(endpoint.query, components)
        if parameters:
            operation["parameters"] = parameters
        if endpoint.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": schemas[(("body", index), "validation")]}},
            }
        success: dict[str, Any] = {"description": endpoint.summary}
        if endpoint.response is not None:
            success["content"] = {endpoint.media_type: {"schema": schemas[(("response", index), "serialization")]}}
        elif endpoint.media_type != "application/json":
            success["content"] = {endpoint.media_type: {"schema": {"type": "string"}}}
        operation["responses"] = {str(endpoint.status): success, **_error_responses(endpoint)}
        paths.setdefault(openapi_path(endpoint.path), {})[endpoint.method.lower()] = operation

    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": (
                "Marquee's JSON API. Authenticate with `Authorization: Bearer <token>` (an admin creates tokens "
                "under Admin → API tokens) or with the login cookie (`POST /api/auth/login`) plus the "
                '`X-CSRF-Token` header on writes. Errors are `{"error": {"code", "message", "field"?}}`. '
                "Lists page with `limit` and `offset` and answer `total`."
            ),
        },
        "tags": [{"name": tag} for tag in dict.fromkeys(e.tag for e in endpoints)],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearerToken": {"type": "http", "scheme": "bearer", "description": "An API token (Admin → API tokens)"},
                "sessionCookie": {"type": "apiKey", "in": "cookie", "name": auth.SESSION_COOKIE},
            },
        },
    }
