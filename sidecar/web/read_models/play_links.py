"""Play buttons: deep links into the media server's own web app for a title (never an API key).

Jellyfin: ``{server}/web/#/details?id=…&serverId=…``; Emby: ``{server}/web/index.html#!/item?id=…&serverId=…``.
``{server}`` is ``MARQUEE_MEDIA_SERVER_PUBLIC_URL`` when set (the address browsers use), else the address
Marquee itself talks to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from sidecar.db.models import Item, MediaServer
from sidecar.settings import Settings


@dataclass(frozen=True, slots=True)
class PlayLinks:
    """Everything a page needs to link any of its titles to the media server (server row id -> link base)."""

    servers: Mapping[int, tuple[str, bool, str]]  # row id -> (base url, is emby, the server's own id)

    def url(self, server_row: int | None, provider_id: str | None) -> str | None:
        server = self.servers.get(server_row) if server_row is not None else None
        if server is None or not provider_id:
            return None
        base, emby, server_id = server
        query = urlencode({"id": provider_id, "serverId": server_id})
        return f"{base}/web/index.html#!/item?{query}" if emby else f"{base}/web/#/details?{query}"

    async def attach(self, session: AsyncSession, views: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Add ``play_url`` to each view's ``item`` (views from the read models: ``{"item": item_summary}``)."""
        ids = sorted({int(v["item"]["id"]) for v in views})
        if not ids or not self.servers:
            return views
        rows = await session.exec(
            select(Item.id, Item.server_id, Item.provider_id).where(col(Item.id).in_(ids), col(Item.gone_at).is_(None))
        )
        where = {int(r[0] or 0): (int(r[1]), str(r[2])) for r in rows.all()}
        for view in views:
            found = where.get(int(view["item"]["id"]))
            view["item"]["play_url"] = self.url(*found) if found else None
        return views


def play_link_for(settings: Settings, server: MediaServer | None, provider_id: str) -> str | None:
    """One title's link (the title page)."""
    if server is None or server.id is None:
        return None
    return _links(settings, [server]).url(server.id, provider_id)


async def play_links(session: AsyncSession, settings: Settings) -> PlayLinks:
    servers = (await session.exec(select(MediaServer).order_by(col(MediaServer.id)))).all()
    return _links(settings, list(servers))


def _links(settings: Settings, servers: list[MediaServer]) -> PlayLinks:
    out: dict[int, tuple[str, bool, str]] = {}
    for row in servers:
        base = (settings.media_server_public_url or row.url or "").rstrip("/")
        if row.id is None or not row.server_id or not base.startswith(("http://", "https://")):
            continue
        out[row.id] = (base, "emby" in row.kind.lower(), row.server_id)
    return PlayLinks(out)
