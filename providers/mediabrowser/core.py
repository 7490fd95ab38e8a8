"""The Jellyfin/Emby provider: everything the two servers share, written once.

The two products grew from the same code base (MediaBrowser), so routes, DTOs and semantics are mostly
the same. ``jellyfin.py`` and ``emby.py`` override the few hooks where they differ (auth headers, the
``/emby`` prefix, which route or body form a call takes). Query parameter names are sent in PascalCase,
which both servers bind case-insensitively.

The calls are grouped by concern, one module each, and ``MediaBrowserServer`` puts them together:
``connection`` (transport, flavour hooks, helpers), ``users`` (server and users), ``libraries`` (libraries and
scans), ``items`` (items and user data), ``collections_playlists``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from providers.base import Image
from providers.mediabrowser.collections_playlists import CollectionsAndPlaylists
from providers.mediabrowser.libraries import Libraries
from providers.mediabrowser.users import ServerAndUsers


class MediaBrowserServer(ServerAndUsers, Libraries, CollectionsAndPlaylists):
    """Shared implementation of ``providers.base.MediaServer`` for Jellyfin and Emby."""

    # --- urls and lifecycle -------------------------------------------------------------------------
    def image_url(
        self,
        item_id: str,
        *,
        image_type: str = "Primary",
        tag: str | None = None,
        max_width: int | None = None,
    ) -> str:
        query: Mapping[str, Any] = {k: v for k, v in {"tag": tag, "maxWidth": max_width}.items() if v is not None}
        url = f"{self.base_url}{self.p(f'/Items/{item_id}/Images/{image_type}')}"
        return f"{url}?{urlencode(query)}" if query else url

    async def fetch_image(
        self,
        item_id: str,
        *,
        image_type: str = "Primary",
        tag: str | None = None,
        max_width: int | None = None,
    ) -> Image:
        query = {k: v for k, v in {"tag": tag, "maxWidth": max_width}.items() if v is not None}
        response = await self._http.request(
            "GET",
            self.p(f"/Items/{item_id}/Images/{image_type}"),
            params=query,
            what=f"{image_type} image of item {item_id}",
            auth_headers={**self.auth_headers(self.api_key), "Accept": "image/*"},
            retries=0,
        )
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        return Image(data=response.content, content_type=content_type)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> MediaBrowserServer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
