"""The server's users as Marquee knows them, and their settings."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from providers.errors import MediaServerError
from sidecar.db.models import AppUser, PublishedLibrary
from sidecar.errors import JobError, NotFound
from sidecar.media_types import MEDIA_TYPES, spec
from sidecar.publish.naming import ai_picks_library_name
from sidecar.services import Services
from sidecar.sync.users import sync_users
from sidecar.web.read_models.shared import iso


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
        "may_override_explanations": user.may_override_explanations,
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


async def users_as_the_server_says(services: Services) -> tuple[list[AppUser], str | None]:
    """The users, with admin, disabled and "all libraries" as the media server says now (the stored rows are
    refreshed first: a privacy conversion changes policies between syncs). When the server cannot be asked,
    the stored rows and why they may be stale."""
    note = None
    try:
        await sync_users(services)
    except (MediaServerError, JobError) as exc:
        note = f"The media server could not be asked ({exc}); this is what it said at the last sync."
    async with services.sessions() as session:
        return await live_users(session), note


async def library_names(session: AsyncSession, user: AppUser, prefix: str) -> list[dict[str, Any]]:
    """Per media type: the user's own name (if any), the name in use, and the published library's state."""
    rows = {
        row.media_type: row
        for row in (
            await session.exec(
                select(PublishedLibrary).where(PublishedLibrary.kind == "ai_picks", PublishedLibrary.user_id == user.id)
            )
        ).all()
    }
    names = []
    for media_type in MEDIA_TYPES:
        custom = getattr(user, spec(media_type).library_name_field)
        row = rows.get(media_type)
        names.append(
            {
                "media_type": media_type,
                "custom": custom,
                "name": ai_picks_library_name(prefix, user.name, custom, media_type),
                "published_as": row.name if row else None,
                "status": row.status if row else None,
                "error": row.error if row else None,
                "published_at": iso(row.published_at) if row else None,
            }
        )
    return names
