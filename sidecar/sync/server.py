"""The ``media_server`` row every synced user, library and item hangs off, and the provider to reach it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text
from sqlmodel import col, select

from providers.base import MediaServer
from sidecar.db.models import MediaServer as MediaServerRow
from sidecar.errors import JobError
from sidecar.services import Services


def provider(services: Services) -> MediaServer:
    if services.media_server is None:
        raise JobError(
            "No media server is configured: set one up on Admin → Server (or set MARQUEE_MEDIA_SERVER_URL, "
            "MARQUEE_MEDIA_SERVER_TYPE and MARQUEE_MEDIA_SERVER_API_KEY)"
        )
    return services.media_server


async def ensure_server(services: Services) -> int:
    """The id of the row for the configured server, created or refreshed from ``/System/Info`` once."""
    if services.media_server_row_id is not None:
        return services.media_server_row_id
    server = provider(services)
    info = await server.server_info()
    now = datetime.now(UTC)
    async with services.sessions() as session:
        # First calls at once (a login racing the start-up sync) would each insert a row: one at a time.
        conn = await session.connection()
        await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('marquee-media-server-row'))"))
        rows = (
            await session.exec(
                select(MediaServerRow).where(
                    (col(MediaServerRow.server_id) == info.id) | (col(MediaServerRow.url) == server.base_url)
                )
            )
        ).all()
        row = next((r for r in rows if r.server_id == info.id), rows[0] if rows else None)
        if row is None:
            row = MediaServerRow(kind=info.product, url=server.base_url)
        row.kind = info.product
        row.url = server.base_url
        row.name = info.name
        row.server_id = info.id
        row.version = info.version
        row.last_seen_at = now
        session.add(row)
        await session.commit()
        await session.refresh(row)
    assert row.id is not None
    services.media_server_row_id = row.id
    return row.id
