"""Whose data a seed path names: ``/api/users/{user_ref}/…`` and ``/api/recommendations/{user_ref}/…``.

The id is the user's own id or ``me``; anyone else's is 403 for a user (whether or not it exists, so ids
cannot be probed) and readable by an administrator (404 when there is no such user).
"""

from __future__ import annotations

from typing import Literal

from starlette.exceptions import HTTPException
from starlette.requests import Request

from sidecar.errors import InvalidInput
from sidecar.web.auth import services_of, user_of
from sidecar.web.read_models import users as user_reads
from sidecar.web.schemas import MAX_DB_INT

ME = "me"
USER_REF = "user_ref"  # the path parameter
UserRef = int | Literal["me"]  # its documented type


def parse_id(raw: str, what: str) -> int:
    """A path id: digits within the integer columns' range (else 422, or 404 when too large to exist)."""
    if not (raw.isascii() and raw.isdigit()):
        raise InvalidInput(f"{what}: a {what.removesuffix('_id')} id is a whole number; got {raw[:40]!r}")
    value = int(raw[:12])
    if value < 1 or len(raw) > 10 or value > MAX_DB_INT:
        raise HTTPException(404, f"There is no {what.removesuffix('_id')} {raw[:40]}.")
    return value


async def target_user(request: Request, param: str = USER_REF) -> int:
    """The id of the user the path names, after the access check."""
    caller = await user_of(request)
    raw = str(request.path_params[param])
    if raw == ME:
        return caller.id
    if not (raw.isascii() and raw.isdigit()):
        raise InvalidInput(f"{param}: a user id (a whole number) or 'me'; got {raw[:40]!r}")
    user_id = parse_id(raw, "user_id") if caller.is_admin else int(raw[:12])
    if user_id != caller.id:
        if not caller.is_admin:
            raise HTTPException(403, "You may only see your own data (use your own id or 'me').")
        async with services_of(request).sessions() as session:
            await user_reads.get_user(session, user_id)  # NotFound: 404
    return user_id
