"""Validate recorded simulator responses against the real servers' OpenAPI specs in ../shared/specs."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
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
    sent: list[SentRequest] = field(default_factory=list)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        path = path[len("/emby") :] if path.lower().startswith("/emby/") else path
        raw = request.content if request.method != "GET" else b""
        is_json = request.headers.get("content-type", "").startswith("application/json")
        body = json.loads(raw) if raw and is_json else None
        self.sent.append(SentRequest(request.method, path, list(request.url.params.multi_items()), body))
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        if body and response.headers.get("content-type", "").startswith("application/json"):
            self.seen.append((request.method, request.url.path, response.status_code, json.loads(body)))
        return httpx.Response(response.status_code, headers=response.headers, content=body, request=request)

    async def aclose(self) -> None:
        await self.inner.aclose()


# --- requests ------------------------------------------------------------------------------------------
@dataclass
class SentRequest:
    method: str
    path: str  # without Emby's /emby prefix
    query: list[tuple[str, str]]
    body: Any


def operation(flavor: str, method: str, path: str) -> tuple[str, dict[str, Any]] | None:
    spec = load_spec(flavor)
    for pattern, template, _ in _templates(flavor):
        if pattern.match(path) and method.lower() in spec["paths"][template]:
            return template, spec["paths"][template][method.lower()]
    return None


def _resolve(flavor: str, schema: dict[str, Any]) -> dict[str, Any]:
    spec = load_spec(flavor)
    while "$ref" in schema or ("allOf" in schema and len(schema["allOf"]) == 1 and "enum" not in schema):
        ref = schema["$ref"] if "$ref" in schema else schema["allOf"][0]["$ref"]
        schema = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return schema


_GUID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")


def _value_problem(flavor: str, schema: dict[str, Any], value: str) -> str | None:
    schema = _resolve(flavor, schema)
    kind = schema.get("type")
    if "enum" in schema and value not in schema["enum"]:
        return f"{value!r} is not one of {schema['enum'][:8]}…"
    if kind == "array":
        for part in value.split(","):
            problem = _value_problem(flavor, schema.get("items", {}), part)
            if problem:
                return problem
        return None
    if kind == "boolean" and value not in ("true", "false"):
        return f"{value!r} is not a boolean"
    if kind == "integer" and not re.fullmatch(r"-?\d+", value):
        return f"{value!r} is not an integer"
    if kind == "string" and schema.get("format") == "uuid" and not _GUID.match(value):
        return f"{value!r} is not a GUID"
    if kind == "string" and schema.get("format") == "date-time":
        try:
            datetime.fromisoformat(value)
        except ValueError:
            return f"{value!r} is not a date-time"
    return None


def request_problems(flavor: str, sent: SentRequest, extra: dict[str, str] | None = None) -> list[str]:
    """What the spec's operation does not accept in this request: undeclared or missing query parameters,
    values of the wrong type or enum, and a JSON body that does not match the request schema. ``extra`` names
    parameters sent on purpose that the spec lacks (each with its reason)."""
    found = operation(flavor, sent.method, sent.path)
    if found is None:
        return [f"{sent.method} {sent.path}: no such operation in the spec"]
    template, op = found
    declared = {p["name"].lower(): p for p in op.get("parameters", []) if p.get("in") == "query"}
    allowed = {k.lower() for k in (extra or {})}
    problems = []
    sent_names = set()
    for name, value in sent.query:
        sent_names.add(name.lower())
        parameter = declared.get(name.lower())
        if parameter is None:
            if name.lower() not in allowed:
                problems.append(f"{sent.method} {template}: query parameter {name} is not in the spec")
            continue
        problem = _value_problem(flavor, parameter.get("schema", {}), value)
        if problem:
            problems.append(f"{sent.method} {template}: {name}={problem}")
    for name, parameter in declared.items():
        if parameter.get("required") and name not in sent_names:
            problems.append(f"{sent.method} {template}: required query parameter {parameter['name']} is missing")
    if sent.body is not None:
        content = (op.get("requestBody") or {}).get("content", {})
        schema = (content.get("application/json") or {}).get("schema")
        if schema is None:
            problems.append(f"{sent.method} {template}: sends a JSON body the spec does not take")
        else:
            try:
                validate(flavor, schema, sent.body)
            except Exception as exc:  # jsonschema's ValidationError, reported as one line
                problems.append(f"{sent.method} {template}: body: {str(exc).splitlines()[0]}")
    return problems


@cache
def emby_sdk_operations() -> dict[tuple[str, str], frozenset[str]]:
    """Emby 4.9's operations as its generated SDK (``embyclient``) has them: (METHOD, path template) → the
    lowercase query parameter names. The stored spec is Emby 4.1.1's and lacks the newer routes and parameters."""
    import emby_client.api as sdk

    out: dict[tuple[str, str], frozenset[str]] = {}
    for module in Path(sdk.__file__).parent.glob("*_api.py"):
        for chunk in module.read_text().split("def ")[1:]:
            call = re.search(r"call_api\(\s*'([^']+)', '([A-Z]+)'", chunk)
            if call is None:
                continue
            names = re.findall(r"query_params\.append\(\('([^']+)'", chunk)
            out[(call.group(2), call.group(1))] = frozenset(n.lower() for n in names)
    return out


def emby_sdk_problems(sent: SentRequest) -> list[str] | None:
    """The request checked against the Emby 4.9 SDK's parameter lists (names only; the SDK types them loosely);
    None when the SDK has no such operation either."""
    for (method, template), names in emby_sdk_operations().items():
        regex = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        if method == sent.method and re.fullmatch(regex, sent.path, re.IGNORECASE):
            return [
                f"{sent.method} {template}: query parameter {name} is not in Emby 4.9's SDK"
                for name, _ in sent.query
                if name.lower() not in names
            ]
    return None
