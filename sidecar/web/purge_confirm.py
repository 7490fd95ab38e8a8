"""What a purge needs before it runs (the page and the JSON API share it): a known target, and its word typed."""

from __future__ import annotations

from starlette.exceptions import HTTPException

from sidecar import purge
from sidecar.errors import InvalidInput


def purge_target(value: object) -> purge.PurgeTarget:
    if value not in purge.PURGE_TARGETS:
        raise HTTPException(404, "Purge movies, series or everything.")
    return value


def check_confirmation(target: purge.PurgeTarget, typed: object) -> None:
    if str(typed or "").strip().lower() != target:
        raise InvalidInput(f"Type {target.upper()} in the box to confirm: this deletes data.")
