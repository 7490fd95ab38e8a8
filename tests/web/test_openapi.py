"""The OpenAPI document and the routes come from one list of endpoints and agree; access is what the document
says; every API error has the one documented shape; the API page lists every endpoint."""

from __future__ import annotations

import re
from typing import Any

import pytest
from openapi_spec_validator import validate
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sidecar import api_tokens
from sidecar.app import api_endpoints, app_routes
from sidecar.web.api_spec import Endpoint, ErrorBody, openapi_document, openapi_path, routes_of
from tests.web.conftest import Web

METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}
_PARAM = re.compile(r"{([A-Za-z_]+)(?::[a-z]+)?}")


def _filled(path: str) -> str:
    """A concrete path: ids 1, media types movies, anything else a word."""
    return _PARAM.sub(lambda m: "movies" if m.group(1) == "media_type" else ("1" if "id" in m.group(1) else "x"), path)


async def _token(web: Web, owner: str) -> str:
    user = await web.user_row(owner)
    async with web.services.sessions() as session:
        _, token = await api_tokens.create(session, f"{owner} test", user.id or 0, user.id or 0)
    return token


async def test_the_document_describes_every_api_route_and_nothing_else(web: Web) -> None:
    response = await web.client().get("/api/openapi.json")  # public: no login, no token
    assert response.status_code == 200
    doc = response.json()
    assert doc["openapi"] == "3.1.0" and doc["info"]["version"]
    described = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}

    routed: set[tuple[str, str]] = set()
    for route in app_routes():
        if isinstance(route, Route) and route.path.startswith("/api/"):
            routed |= {(openapi_path(route.path), m) for m in (route.methods or set()) & METHODS}
    assert routed == described
    assert {(openapi_path(e.path), e.method) for e in api_endpoints()} == described

    schemas = doc["components"]["schemas"]
    assert set(schemas["ErrorBody"]["properties"]) == {"error"}
    assert set(schemas["ErrorDetail"]["required"]) == {"code", "message"}
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert op["summary"] and op["tags"] and op["x-access"] in ("public", "user", "admin"), (path, method)
            for status, answer in op["responses"].items():
                if not status.startswith("2"):
                    ref = answer["content"]["application/json"]["schema"]["$ref"]
                    assert ref == "#/components/schemas/ErrorBody", (path, method, status)
    # every $ref points at a component
    refs = set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', response.text.replace('":"', '": "')))
    assert refs and refs <= set(schemas)


async def test_access_is_what_the_document_says(web: Web) -> None:
    """Every admin endpoint refuses a user's token (403), every non-public one refuses nobody-at-all (401),
    before the handler runs."""
    user = await _token(web, "alice")
    client = web.client()
    checked = 0
    for endpoint in api_endpoints():
        url = _filled(endpoint.path)
        if endpoint.access == "public":
            continue
        anonymous = await client.request(endpoint.method, url)
        assert anonymous.status_code == 401, (endpoint.method, endpoint.path, anonymous.text[:200])
        assert anonymous.json()["error"]["code"] == "unauthorized"
        if endpoint.access == "admin":
            refused = await client.request(endpoint.method, url, headers={"Authorization": f"Bearer {user}"})
            assert refused.status_code == 403, (endpoint.method, endpoint.path, refused.text[:200])
            assert refused.json()["error"]["code"] == "forbidden"
        checked += 1
    assert checked > 50


async def test_every_api_error_has_the_one_shape(web: Web) -> None:
    alice, csrf = await web.api_login("alice")
    missing = await alice.get("/api/items/999999")
    assert missing.status_code == 404
    assert ErrorBody.model_validate(missing.json()).error.code == "not_found"

    invalid = await alice.get("/api/picks", params={"media_type": "music"})
    assert invalid.status_code == 422
    assert invalid.json()["error"] == {
        "code": "invalid_input",
        "message": invalid.json()["error"]["message"],
        "field": "media_type",
    }

    body = await alice.put("/api/me/settings", json={"movies_library_name": "a/b"}, headers={"X-CSRF-Token": csrf})
    assert body.status_code == 422 and body.json()["error"]["field"] == "movies_library_name"

    no_csrf = await alice.put("/api/me/settings", json={})
    assert no_csrf.status_code == 403 and "x-csrf-token" in no_csrf.json()["error"]["message"].lower()

    wrong_method = await alice.delete("/api/picks")
    assert wrong_method.status_code == 405 and wrong_method.json()["error"]["code"] == "method_not_allowed"
    nowhere = await alice.get("/api/no-such-thing")
    assert nowhere.status_code == 404 and nowhere.json()["error"]["code"] == "not_found"

    not_json = await alice.post(
        "/api/channels", content=b"{", headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"}
    )
    assert not_json.status_code == 400 and not_json.json()["error"]["code"] == "bad_request"

    # pages keep the error page
    page = await alice.get("/items/999999")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")


async def test_the_api_page_lists_every_endpoint(web: Web) -> None:
    admin = await web.login("admin")
    page = await admin.get("/api-docs")
    assert page.status_code == 200
    for endpoint in api_endpoints():
        assert f"<code>{openapi_path(endpoint.path)}</code>" in page.text, endpoint.path
    assert 'href="/api/openapi.json"' in page.text and "Authorization: Bearer $MARQUEE_TOKEN" in page.text
    assert 'href="/admin/tokens"' in page.text


class _Thing(BaseModel):
    id: int


async def _handler(request: Request) -> Response:
    return Response()


def test_a_path_and_method_declared_twice_is_refused() -> None:
    twice = [Endpoint("GET", "/api/x", _handler, "x", "t"), Endpoint("GET", "/api/x", _handler, "again", "t")]
    with pytest.raises(ValueError, match="declared twice"):
        routes_of(twice)


def test_the_document_is_valid_openapi_3_1() -> None:
    validate(openapi_document(api_endpoints(), version="1"))  # raises with the first problem


def test_schemas_come_from_the_models() -> None:
    doc: dict[str, Any] = openapi_document(
        [Endpoint("GET", "/api/things/{thing_id:id}", _handler, "A thing", "t", response=list[_Thing])], version="1"
    )
    op = doc["paths"]["/api/things/{thing_id}"]["get"]
    assert op["parameters"][0]["schema"] == {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
    assert op["responses"]["200"]["content"]["application/json"]["schema"] == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/_Thing"},
    }
    assert doc["components"]["schemas"]["_Thing"]["properties"]["id"]["type"] == "integer"
    assert set(op["responses"]) == {"200", "401", "403", "404", "422", "default"}
