"""The server's users as Marquee knows them, and their settings."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from sidecar.db.models import AppUser
from sidecar.errors import NotFound


def user_view(user: AppUser) -> dict[str, Any]:
    return {
        "id": user.id,
        "name": user.name,
        "is_admin": user.is_admin,
        "is_disabled": user.is_disabled,
        "enable_all_folders": user.enable_all_folders,
        "movies_enabled": user.movies_enabled,
        "series_enabled": user.series_enabled,
        "movies_library_name": user.movies_library_name,
        "series_library_name": user.series_library_name,
        "show_explanations": user.show_explanations,
    }


async def get_user(session: AsyncSession, user_id: int) -> AppUser:
    user = await session.get(AppUser, user_id)
    if user is None:
        raise NotFound(f"There is no user with id {user_id}.")
    return user


async def live_users(session: AsyncSession) -> list[AppUser]:
    return list(
        (await session.exec(select(AppUser).where(col(AppUser.gone_at).is_(None)).order_by(AppUser.name))).all()
    )
