"""Media-server users → ``app_user`` (Marquee's own per-user settings are never overwritten)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert

from providers.base import User
from providers.errors import ProviderNotFound
from sidecar.db.models import AppUser
from sidecar.services import Services
from sidecar.sync.server import ensure_server, provider

_USERS = AppUser.__table__  # type: ignore[attr-defined]


def _values(user: User, server_id: int, now: datetime) -> dict[str, Any]:
    return {
        "server_id": server_id,
        "provider_id": user.id,
        "name": user.name,
        "is_admin": user.is_admin,
        "is_disabled": user.is_disabled,
        "enable_all_folders": user.enable_all_folders,
        "updated_at": now,
        "gone_at": None,
    }


async def upsert_users(services: Services, server_id: int, users: list[User]) -> dict[str, int]:
    """Insert or refresh users; returns provider id → row id."""
    if not users:
        return {}
    now = datetime.now(UTC)
    stmt = insert(_USERS).values([_values(u, server_id, now) for u in users])
    upsert = stmt.on_conflict_do_update(
        index_elements=["server_id", "provider_id"],
        set_={
            c: stmt.excluded[c]
            for c in ("name", "is_admin", "is_disabled", "enable_all_folders", "updated_at", "gone_at")
        },
    ).returning(_USERS.c.provider_id, _USERS.c.id)
    async with services.engine.begin() as conn:
        rows = (await conn.execute(upsert)).all()
    return {str(r[0]): int(r[1]) for r in rows}


async def sync_users(services: Services) -> dict[str, int]:
    """Every user on the server; users the server no longer has are marked gone."""
    server_id = await ensure_server(services)
    users = await provider(services).list_users()
    ids = await upsert_users(services, server_id, users)
    async with services.engine.begin() as conn:
        result = await conn.execute(
            text(
                "UPDATE app_user SET gone_at = now() WHERE server_id = :s AND gone_at IS NULL"
                " AND NOT (provider_id = ANY(:seen))"
            ),
            {"s": server_id, "seen": list(ids)},
        )
    return {"users": len(ids), "gone": int(getattr(result, "rowcount", 0) or 0)}


async def refresh_user(services: Services, provider_user_id: str) -> int | None:
    """Re-read one user from the server (webhook user events); None when the server no longer has them."""
    server_id = await ensure_server(services)
    try:
        user = await provider(services).get_user(provider_user_id)
    except ProviderNotFound:
        async with services.engine.begin() as conn:
            await conn.execute(
                text(
                    "UPDATE app_user SET gone_at = now() WHERE server_id = :s AND provider_id = :p AND gone_at IS NULL"
                ),
                {"s": server_id, "p": provider_user_id},
            )
        return None
    return (await upsert_users(services, server_id, [user]))[user.id]


async def user_row_id(services: Services, provider_user_id: str) -> int | None:
    """The row of a known live user, fetching a user the sync has not seen yet from the server."""
    server_id = await ensure_server(services)
    async with services.engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT id, gone_at FROM app_user WHERE server_id = :s AND provider_id = :p"),
                {"s": server_id, "p": provider_user_id},
            )
        ).first()
    if row is not None and row[1] is None:
        return int(row[0])
    return await refresh_user(services, provider_user_id)
