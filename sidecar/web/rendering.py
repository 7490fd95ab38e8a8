"""Shared helpers of the server-rendered pages: rendering with the login state, redirects, form fields."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from sidecar.errors import InvalidInput
from sidecar.media_types import MEDIA_TYPES, MediaType
from sidecar.web import auth
from sidecar.web.schemas import MAX_DB_INT
from sidecar.web.templating import templates

_FORM_ID = re.compile(r"[0-9]{1,10}")


def when(value: str | None) -> str:
    """An ISO timestamp as "2026-11-24 11:53 UTC" for pages (the API keeps ISO)."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value).astimezone(UTC)
    except ValueError:
        return value
    return f"{moment:%Y-%m-%d %H:%M} UTC"


templates.env.filters["when"] = when


async def render(request: Request, template: str, context: dict[str, Any], status: int = 200) -> Response:
    user = await auth.current_user(request)
    return templates.TemplateResponse(
        request,
        template,
        {"current_user": user, "csrf_token": user.csrf_token if user else "", **context},
        status_code=status,
    )


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def media_type_param(request: Request) -> MediaType:
    value = request.query_params.get("media_type", "movies")
    if value not in MEDIA_TYPES:
        raise HTTPException(400, "media_type is 'movies' or 'series'")
    return MediaType(value)


def path_int(request: Request, name: str) -> int:
    """An id from the path; one beyond the integer columns' range cannot exist."""
    value: int = request.path_params[name]
    if value > MAX_DB_INT:
        raise HTTPException(404, f"There is no {name.removesuffix('_id')} {value}.")
    return value


def checkbox(form: FormData, name: str) -> bool:
    return form.get(name) in ("on", "true", "1")


def form_ints(form: FormData, name: str) -> list[int]:
    """The ids a form field lists: ASCII digits within the integer columns' range, anything else is refused
    (``InvalidInput``)."""
    values = []
    for raw in form.getlist(name):
        if not isinstance(raw, str) or not _FORM_ID.fullmatch(raw) or int(raw) > MAX_DB_INT:
            shown = repr(raw[:20]) + ("…" if len(raw) > 20 else "") if isinstance(raw, str) else "a file"
            raise InvalidInput(f"{name}: {shown} is not an id")
        values.append(int(raw))
    return values
