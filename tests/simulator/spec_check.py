"""Validate recorded simulator responses against the real servers' OpenAPI specs in ../shared/specs."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import httpx
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from tests.conftest import SHARED

SPECS = SHARED / "specs"
SPEC_FILES = {
    "jellyfin": SPECS / "jellyfin-openapi-stable-10.11.8.json",
    "emby": SPECS / "emby-openapi-stable-4.1.1.0.json",
}


@cache
def load_spec(flavor: str) -> dict[str, Any]:
    return dict(json.loads(SPEC_FILES[flavor].read_text()))


@cache
def _templates(flavor: str) -> list[tuple[re.Pattern[str], str, int]]:
    out = []
    for template in load_spec(flavor)["paths"]:
        regex = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        out.append((re.compile(f"^{regex}$", re.IGNORECASE), template, template.count("{")))
    out.sort(key=lambda t: t[2])  # literal segments win over parameters
    return out


def response_schema(flavor: str, method: str, path: str, status: int) -> tuple[str, dict[str, Any]] | None:
    spec = load_spec(flavor)
    for pattern, template, _ in _templates(flavor):
        if not pattern.match(path):
            continue
        operation = spec["paths"][template].get(method.lower())
        if operation is None:
            continue
        response = operation.get("responses", {}).get(str(status))
        if response is None:
            return None
        schema = response.get("content", {}).get("application/json", {}).get("schema")
        return (template, schema) if schema else None
    return None


def validate(flavor: str, schema: dict[str, Any], body: Any) -> None:
    spec = load_spec(flavor)
    resource = Resource.from_contents(spec, default_specification=DRAFT4)
    registry: Registry[Any] = Registry().with_resource("urn:spec", resource)
    root = {"$ref": "urn:spec#" + schema["$ref"][1:]} if "$ref" in schema else schema
    if "$ref" not in schema:
        root = json.loads(json.dumps(schema).replace('"#/', '"urn:spec#/'))
    OAS30Validator(root, registry=registry).validate(body)


@dataclass
class Recorder(httpx.AsyncBaseTransport):
    """An httpx transport that keeps every JSON response the provider received."""

    inner: httpx.AsyncBaseTransport = field(default_factory=httpx.AsyncHTTPTransport)
    seen: list[tuple[str, str, int, Any]] = field(default_factory=list)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        if body and response.headers.get("content-type", "").startswith("application/json"):
            self.seen.append((request.method, request.url.path, response.status_code, json.loads(body)))
        return httpx.Response(response.status_code, headers=response.headers, content=body, request=request)

    async def aclose(self) -> None:
        await self.inner.aclose()
