"""Emby (4.7 to 4.9): everything under ``/emby``, ``X-Emby-Token`` and ``X-Emby-Authorization: Emby …``
headers, ``api_key=`` in URLs, numeric item ids, user-scoped item routes, ``POST …/Delete`` aliases
instead of DELETE, a JSON body for library creation and query parameters for playlist creation.
Users and libraries come from ``/Users/Query`` and ``/Library/VirtualFolders/Query`` (Emby 4.9 refuses
``GET /Users`` with 403), falling back to the bare-array routes on servers without them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from providers.base import ServerKind
from providers.errors import ProviderNotFound
from providers.mediabrowser import dto as d
from providers.mediabrowser.connection import ITEM_FIELDS
from providers.mediabrowser.core import MediaBrowserServer
from providers.mediabrowser.transport import Params


class EmbyServer(MediaBrowserServer):
    kind: ServerKind = "emby"
    product = "Emby"
    prefix = "/emby"
    key_hint = "create an API key in Settings → Advanced → API Keys and put it in Marquee's media server settings."
    query_routes_since = (4, 7)

    def auth_headers(self, token: str | None, device_id: str | None = None) -> dict[str, str]:
        headers = {"X-Emby-Authorization": f"Emby {self.client_fields(device_id or self.device_id)}"}
        if token:
            headers["X-Emby-Token"] = token
        return headers

    def items_path(self, user_id: str | None) -> tuple[str, dict[str, str]]:
        return (f"/Users/{user_id}/Items", {}) if user_id else ("/Items", {})

    async def _item_dto(self, item_id: str, user_id: str | None) -> d.Dto:
        if user_id:
            body = await self._get(f"/Users/{user_id}/Items/{item_id}", what=f"item {item_id}")
            if isinstance(body, dict):
                return body
        # Emby has no user-less single-item route; a one-id query with every field is the equivalent.
        page = await self._page(
            "/Items",
            {
                "Ids": item_id,
                "Recursive": True,
                "Fields": [*ITEM_FIELDS, "ExternalUrls", "ProductionLocations"],
            },
        )
        if not page:
            raise ProviderNotFound(
                f"{self.label} has no item {item_id} (404); it may have been deleted on the server.",
                server=self.label,
                status_code=404,
            )
        return page[0]

    async def _set_played(self, user_id: str, item_id: str, played: bool, date: datetime | None) -> d.Dto:
        path = f"/Users/{user_id}/PlayedItems/{item_id}" + ("" if played else "/Delete")
        params: dict[str, Any] = {}
        if played and date is not None:
            params["DatePlayed"] = d.format_datetime(date)
        response = await self._post(path, params, what=f"item {item_id}", idempotent=True)
        return self._json_object(response, path)

    async def _set_favorite(self, user_id: str, item_id: str, favorite: bool) -> d.Dto:
        path = f"/Users/{user_id}/FavoriteItems/{item_id}" + ("" if favorite else "/Delete")
        response = await self._post(path, what=f"item {item_id}", idempotent=True)
        return self._json_object(response, path)

    async def _create_library(
        self, name: str, collection_type: str, paths: Sequence[str], refresh: bool, options: d.Dto
    ) -> None:
        await self._post(
            "/Library/VirtualFolders",
            json_body={
                "Name": name,
                "CollectionType": collection_type,
                "Paths": list(paths),
                "RefreshLibrary": refresh,
                "LibraryOptions": options,
            },
        )

    async def _delete(self, path: str, params: Params | None, what: str) -> None:
        await self._post(f"{path}/Delete", params, what=what, idempotent=True)

    async def _create_playlist(
        self, name: str, item_ids: Sequence[str], user_id: str, media_type: str, is_public: bool
    ) -> d.Dto:
        # Documented: Name, Ids, MediaType (query only; the owner is the caller's user). An API key has no user,
        # so UserId names the owner, as MediaBrowser's CreatePlaylist request always allowed.
        response = await self._post(
            "/Playlists", {"Name": name, "Ids": list(item_ids), "MediaType": media_type, "UserId": user_id}
        )
        return self._json_object(response, "/Playlists")

    def resume_path(self, user_id: str) -> tuple[str, dict[str, str]]:
        return f"/Users/{user_id}/Items/Resume", {}

    def stream_url(self, item_id: str, *, with_key: bool = True) -> str:
        query = {"Static": "true"}
        if with_key:
            query["api_key"] = self.api_key
        return f"{self.base_url}/emby/Videos/{item_id}/stream?{urlencode(query)}"

    async def update_playlist(
        self, playlist_id: str, *, name: str | None = None, shared_with: Sequence[str] | None = None
    ) -> bool:
        """Emby documents no playlist-sharing API (4.8 and later keep playlists private to their owner, with
        sharing only in its own apps; before 4.8 every playlist is visible to every user), so shares are not
        sent and the answer is False. A rename goes through the item update."""
        if name is not None:
            await self.update_item(playlist_id, {"Name": name})
        return False

    async def playlist_shared_with(self, playlist_id: str) -> list[str] | None:
        return None
