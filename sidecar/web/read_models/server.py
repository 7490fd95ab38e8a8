"""The media server Marquee talks to and its source libraries (Marquee's own output libraries left out)."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from sidecar.db.models import Library, MediaServer
from sidecar.web.read_models.shared import iso


async def media_server_info(session: AsyncSession) -> dict[str, Any] | None:
    row = (await session.exec(select(MediaServer).order_by(col(MediaServer.id)).limit(1))).first()
    if row is None:
        return None
    return {
        "kind": row.kind,
        "url": row.url,
        "name": row.name,
        "version": row.version,
        "last_seen_at": iso(row.last_seen_at),
    }


def library_view(lib: Library) -> dict[str, Any]:
    return {
        "id": lib.id,
        "name": lib.name,
        "collection_type": lib.collection_type,
        "enabled": lib.enabled,
        "synced_at": iso(lib.synced_at),
    }


async def source_libraries(session: AsyncSession) -> list[Library]:
    return list(
        (
            await session.exec(
                select(Library)
                .where(col(Library.gone_at).is_(None), col(Library.is_marquee_output).is_(False))
                .order_by(Library.name)
            )
        ).all()
    )
