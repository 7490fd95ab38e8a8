"""A user's taste profiles, one per media type."""

from __future__ import annotations

from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from sidecar.db.models import TasteProfile
from sidecar.web.read_models.shared import iso


async def taste_profiles(session: AsyncSession, user_id: int) -> dict[str, dict[str, Any]]:
    rows = (await session.exec(select(TasteProfile).where(TasteProfile.user_id == user_id))).all()
    return {
        row.media_type: {
            "media_type": row.media_type,
            "text": row.text,
            "source": row.source,
            "facts": row.facts,
            "updated_at": iso(row.updated_at),
        }
        for row in rows
    }
