"""Jellyfin (10.9 and later): ``Authorization: MediaBrowser …, Token=`` header, ``ApiKey=`` in URLs,
32-hex GUID ids, the newer ``/UserPlayedItems`` and ``/UserFavoriteItems`` routes, query-parameter
library creation and a JSON body for playlist creation."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from providers.base import ServerKind
from providers.errors import ProviderResponseError
from providers.mediabrowser import dto as d
from providers.mediabrowser.core import MediaBrowserServer
from providers.mediabrowser.transport import Params


class JellyfinServer(MediaBrowserServer):
    kind: ServerKind = "jellyfin"
    product = "Jellyfin"
    key_hint = "create an API key in Dashboard → API Keys and put it in Marquee's media server settings."

    def auth_headers(self, token: str | None, device_id: str | None = None) -> dict[str, str]:
        value = f"MediaBrowser {self.client_fields(device_id or self.device_id)}"
        if token:
            value += f', Token="{token}"'
        return {"Authorization": value}

    def user_image_path(self, user_id: str) -> tuple[str, dict[str, str]]:
        return "/UserImage", {"userId": user_id}

    def items_path(self, user_id: str | None) -> tuple[str, dict[str, str]]:
        return "/Items", ({"UserId": user_id} if user_id else {})

    async def _item_dto(self, item_id: str, user_id: str | None) -> d.Dto:
        body = await self._get(f"/Items/{item_id}", {"UserId": user_id}, what=f"item {item_id}")
        if not isinstance(body, dict):
            raise ProviderResponseError(f"{self.label} answered item {item_id} without an object", server=self.label)
        return body

    async def _set_played(self, user_id: str, item_id: str, played: bool, date: datetime | None) -> d.Dto:
        params: dict[str, Any] = {"UserId": user_id}
        if played and date is not None:
            params["DatePlayed"] = d.format_datetime(date)
        response = await self._http.request(
            "POST" if played else "DELETE",
            self.p(f"/UserPlayedItems/{item_id}"),
            params=params,
            what=f"item {item_id}",
            idempotent=True,
        )
        return self._json_object(response, "/UserPlayedItems")

    async def _set_favorite(self, user_id: str, item_id: str, favorite: bool) -> d.Dto:
        response = await self._http.request(
            "POST" if favorite else "DELETE",
            self.p(f"/UserFavoriteItems/{item_id}"),
            params={"UserId": user_id},
            what=f"item {item_id}",
            idempotent=True,
        )
        return self._json_object(response, "/UserFavoriteItems")

    async def _create_library(
        self, name: str, collection_type: str, paths: Sequence[str], refresh: bool, options: d.Dto
    ) -> None:
        await self._post(
            "/Library/VirtualFolders",
            {
                "Name": name,
                "CollectionType": collection_type,
                "Paths": list(paths),
                "RefreshLibrary": refresh,
            },
            {"LibraryOptions": options},
        )

    async def _delete(self, path: str, params: Params | None, what: str) -> None:
        await self._http.request("DELETE", self.p(path), params=params, what=what)

    async def _create_playlist(
        self, name: str, item_ids: Sequence[str], user_id: str, media_type: str, is_public: bool
    ) -> d.Dto:
        response = await self._post(
            "/Playlists",
            json_body={
                "Name": name,
                "Ids": list(item_ids),
                "UserId": user_id,
                "MediaType": media_type,
                "Users": [{"UserId": user_id, "CanEdit": True}],
                "IsPublic": is_public,
            },
        )
        return self._json_object(response, "/Playlists")

    def resume_path(self, user_id: str) -> tuple[str, dict[str, str]]:
        return "/UserItems/Resume", {"UserId": user_id}

    def stream_url(self, item_id: str, *, with_key: bool = True) -> str:
        query = {"static": "true", "mediaSourceId": item_id}
        if with_key:
            query["ApiKey"] = self.api_key
        return f"{self.base_url}/Videos/{item_id}/stream?{urlencode(query)}"
