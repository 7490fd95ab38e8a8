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
from urllib.parse import quote, urlencode

from providers.base import Image, NamedImageKind
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

    async def fetch_named_image(
        self,
        kind: NamedImageKind,
        name: str,
        *,
        image_type: str = "Primary",
        max_width: int | None = None,
    ) -> Image:
        """A person's photo or a studio's/network's logo, by name (Marquee keeps names, not their ids)."""
        path = self.p(f"/{kind}/{quote(name, safe='')}/Images/{image_type}")
        return await self._image(path, {"maxWidth": max_width}, f"{image_type} image of {name}")

    def user_image_path(self, user_id: str) -> tuple[str, dict[str, str]]:
        """Where a user's avatar is (Emby, and Jellyfin before 10.9; ``jellyfin.py`` overrides it)."""
        return f"/Users/{user_id}/Images/Primary", {}

    async def fetch_user_image(self, user_id: str, *, max_width: int | None = None) -> Image:
        path, params = self.user_image_path(user_id)
        return await self._image(self.p(path), {**params, "maxWidth": max_width}, f"avatar of user {user_id}")

    async def _image(self, path: str, params: Mapping[str, Any], what: str) -> Image:
        response = await self._http.request(
            "GET",
            path,
            params={k: v for k, v in params.items() if v is not None},
            what=what,
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
