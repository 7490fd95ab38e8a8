"""Reading and answering JSON for the API modules: the body and the query validated by pydantic models,
ids and media types from the path, and the response."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from sidecar.errors import InvalidInput
from sidecar.json_body import JsonBodyError, read_json
from sidecar.media_types import MEDIA_TYPES, MediaType
from sidecar.web.schemas import MAX_DB_INT, parse

M = TypeVar("M", bound=BaseModel)

MAX_BODY = 64 * 1024


async def json_of(request: Request) -> Any:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise HTTPException(415, "Send the body as JSON (Content-Type: application/json).")
    too_large = HTTPException(413, f"The body is larger than {MAX_BODY} bytes.")
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and (len(declared) > 12 or int(declared) > MAX_BODY):
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():  # never more than MAX_BODY in memory, whatever the client sends
        size += len(chunk)
        if size > MAX_BODY:
            raise too_large
        chunks.append(chunk)
    try:
        body = read_json(b"".join(chunks), "The body")
    except JsonBodyError as exc:
        raise HTTPException(400, f"{exc}.") from None
    if _has_nul(body):  # PostgreSQL text and JSONB cannot hold it: refused here rather than failing on insert
        raise InvalidInput("body: NUL characters (\\u0000) are not allowed")
    return body


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


async def body_of(request: Request, model: type[M]) -> M:
    return parse(model, await json_of(request))  # InvalidInput: 422 with the message


def query_of(request: Request, model: type[M]) -> M:
    """Known query parameters, validated (unknown ones, e.g. cache busters, are ignored)."""
    params = {k: v for k, v in request.query_params.items() if k in model.model_fields}
    return parse(model, params)  # InvalidInput: 422 with the message


def media_type_path(request: Request) -> MediaType:
    value = request.path_params["media_type"]
    if value not in MEDIA_TYPES:
        raise HTTPException(404, "media_type is 'movies' or 'series'")
    return MediaType(value)


def ok(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status)


def path_int(request: Request, name: str) -> int:
    """An id from the path; one beyond the integer columns' range cannot exist."""
    value: int = request.path_params[name]
    if value > MAX_DB_INT:
        raise HTTPException(404, f"There is no {name.removesuffix('_id')} {value}.")
    return value
