"""The Jellyfin/Emby provider: everything the two servers share, written once.

The two products grew from the same code base (MediaBrowser), so routes, DTOs and semantics are mostly
the same. ``jellyfin.py`` and ``emby.py`` override the few hooks where they differ (auth headers, the
``/emby`` prefix, which route or body form a call takes). Query parameter names are sent in PascalCase,
which both servers bind case-insensitively.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import httpx

from providers.base import (
    Collection,
    Image,
    Item,
    Library,
    Playlist,
    PlaylistEntry,
    ScanState,
    ServerInfo,
    ServerKind,
    User,
    UserData,
)
from providers.errors import (
    ProviderAuthError,
    ProviderNotFound,
    ProviderResponseError,
    ScanTimeout,
)
from providers.mediabrowser import dto as d
from providers.mediabrowser.transport import Params, Transport

CLIENT_NAME = "Marquee"
CLIENT_VERSION = "0.1.0"

ITEM_FIELDS: tuple[str, ...] = (
    "Genres",
    "Studios",
    "People",
    "Overview",
    "OriginalTitle",
    "ProviderIds",
    "Path",
    "SortName",
    "DateCreated",
    "DateLastSaved",
    "Tags",
    "Taglines",
    "ParentId",
    "Settings",
    "ChildCount",
)
"""Everything Marquee stores about an item; the servers leave these out unless asked."""

STABLE_SORT: tuple[str, ...] = ("DateCreated", "SortName")
"""Paging order: items added while we page land on later pages instead of shifting earlier ones."""

_IDS_PER_REQUEST = 100


def _chunks(values: Sequence[str], size: int) -> list[Sequence[str]]:
    return [values[i : i + size] for i in range(0, len(values), size)]


def _quote(value: str) -> str:
    return value.replace('"', "")


class MediaBrowserServer:
    """Shared implementation of ``providers.base.MediaServer`` for Jellyfin and Emby."""

    kind: ServerKind
    product: str
    prefix: str = ""
    key_hint: str = ""

    def __init__(
        self,
        url: str,
        api_key: str,
        *,
        timeout: float = 15.0,
        retries: int = 3,
        backoff: float = 0.5,
        device_id: str = "marquee-sidecar",
        http_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = url.rstrip("/")
        self.api_key = api_key
        self.device_id = device_id
        self.label = f"{self.product} at {self.base_url}"
        self._http = Transport(
            self.base_url,
            self.auth_headers(api_key),
            label=self.label,
            key_hint=self.key_hint,
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            transport=http_transport,
        )
        self._scan_baseline: datetime | None = None
        self._scan_requested_at: float | None = None
        self._library_refresh_requested_at: dict[str, float] = {}

    # --- flavour hooks ------------------------------------------------------------------------------
    def client_fields(self, device_id: str) -> str:
        return (
            f'Client="{CLIENT_NAME}", Device="{CLIENT_NAME}", DeviceId="{_quote(device_id)}", '
            f'Version="{CLIENT_VERSION}"'
        )

    def auth_headers(self, token: str | None, device_id: str | None = None) -> dict[str, str]:
        raise NotImplementedError

    def items_path(self, user_id: str | None) -> tuple[str, dict[str, str]]:
        """Route and extra params for an item query in a user's context (or none)."""
        raise NotImplementedError

    async def _item_dto(self, item_id: str, user_id: str | None) -> d.Dto:
        raise NotImplementedError

    async def _set_played(self, user_id: str, item_id: str, played: bool, date: datetime | None) -> d.Dto:
        raise NotImplementedError

    async def _set_favorite(self, user_id: str, item_id: str, favorite: bool) -> d.Dto:
        raise NotImplementedError

    async def _create_library(
        self, name: str, collection_type: str, paths: Sequence[str], refresh: bool, options: d.Dto
    ) -> None:
        raise NotImplementedError

    async def _delete(self, path: str, params: Params | None, what: str) -> None:
        """A DELETE (Jellyfin) or its ``POST …/Delete`` alias (Emby)."""
        raise NotImplementedError

    async def _create_playlist(
        self, name: str, item_ids: Sequence[str], user_id: str, media_type: str, is_public: bool
    ) -> d.Dto:
        raise NotImplementedError

    def resume_path(self, user_id: str) -> tuple[str, dict[str, str]]:
        raise NotImplementedError

    def stream_url(self, item_id: str, *, with_key: bool = True) -> str:
        raise NotImplementedError

    # --- helpers ------------------------------------------------------------------------------------
    def p(self, path: str) -> str:
        return self.prefix + path

    async def _get(self, path: str, params: Params | None = None, what: str = "") -> Any:
        return await self._http.get_json(self.p(path), params=params, what=what)

    async def _post(
        self,
        path: str,
        params: Params | None = None,
        json_body: Any = None,
        *,
        what: str = "",
        idempotent: bool = False,
    ) -> httpx.Response:
        return await self._http.request(
            "POST", self.p(path), params=params, json_body=json_body, what=what, idempotent=idempotent
        )

    def _query_result(self, body: Any, path: str) -> list[d.Dto]:
        if not isinstance(body, dict) or not isinstance(body.get("Items"), list):
            raise ProviderResponseError(
                f"{self.label} answered {path} without an Items list; is this a {self.product} server?",
                server=self.label,
            )
        return [x for x in body["Items"] if isinstance(x, dict)]

    def _json_object(self, response: httpx.Response, path: str) -> d.Dto:
        body = self._http.decode(response, response.request.method, path)
        if not isinstance(body, dict):
            raise ProviderResponseError(f"{self.label} answered {path} with {body!r:.80}", server=self.label)
        return body

    # --- server and users ---------------------------------------------------------------------------
    async def server_info(self) -> ServerInfo:
        body = await self._get("/System/Info")
        if not isinstance(body, dict) or "Id" not in body:
            raise ProviderResponseError(
                f"{self.label} answered /System/Info without a server id: is the URL right?",
                server=self.label,
            )
        product_name = str(body.get("ProductName") or "")
        is_jellyfin = "jellyfin" in product_name.lower()
        if is_jellyfin != (self.kind == "jellyfin"):
            other = "Jellyfin" if is_jellyfin else "Emby"
            raise ProviderResponseError(
                f"The server at {self.base_url} is {other} {body.get('Version', '')}, not {self.product}: "
                f"set the media server type to {other.lower()}.",
                server=self.label,
            )
        return ServerInfo(
            id=d.normalise_id(str(body["Id"])),
            name=str(body.get("ServerName") or ""),
            version=str(body.get("Version") or ""),
            product=self.kind,
            local_address=body.get("LocalAddress"),
        )

    async def authenticate_user(self, name: str, password: str) -> tuple[User, str]:
        device = "marquee-login-" + hashlib.sha256(name.encode()).hexdigest()[:12]
        try:
            response = await self._http.request(
                "POST",
                self.p("/Users/AuthenticateByName"),
                json_body={"Username": name, "Pw": password},
                auth_headers=self.auth_headers(None, device),
            )
        except ProviderAuthError as exc:
            raise ProviderAuthError(
                f"{self.label} refused the login of {name!r}: wrong user name or password.",
                server=self.label,
                status_code=exc.status_code,
            ) from exc
        body = self._json_object(response, "/Users/AuthenticateByName")
        if not isinstance(body.get("User"), dict) or not body.get("AccessToken"):
            raise ProviderResponseError(f"{self.label} answered the login without a user or token", server=self.label)
        return d.user_from_dto(body["User"]), str(body["AccessToken"])

    async def list_users(self) -> list[User]:
        body = await self._get("/Users")
        if not isinstance(body, list):
            raise ProviderResponseError(f"{self.label} answered /Users without a list", server=self.label)
        return [d.user_from_dto(u) for u in body if isinstance(u, dict)]

    async def get_user(self, user_id: str) -> User:
        return d.user_from_dto(await self._get(f"/Users/{user_id}", what=f"user {user_id}"))

    async def update_user_policy(self, user_id: str, policy: dict[str, Any]) -> None:
        await self._post(f"/Users/{user_id}/Policy", json_body=policy, what=f"user {user_id}", idempotent=True)

    async def set_user_folders(self, user_id: str, *, enable_all_folders: bool, enabled_folders: Sequence[str]) -> User:
        user = await self.get_user(user_id)
        policy = dict(user.policy)
        policy["EnableAllFolders"] = enable_all_folders
        policy["EnabledFolders"] = list(enabled_folders)
        await self.update_user_policy(user_id, policy)
        return await self.get_user(user_id)

    # --- libraries ----------------------------------------------------------------------------------
    async def list_libraries(self) -> list[Library]:
        body = await self._get("/Library/VirtualFolders")
        if not isinstance(body, list):
            raise ProviderResponseError(
                f"{self.label} answered /Library/VirtualFolders without a list", server=self.label
            )
        return [d.library_from_dto(f) for f in body if isinstance(f, dict)]

    async def _library_by(self, *, name: str | None = None, library_id: str | None = None) -> Library:
        for library in await self.list_libraries():
            if (name is not None and library.name == name) or (library_id and library.id == library_id):
                return library
        raise ProviderNotFound(
            f"{self.label} has no library {name or library_id!r}; it may have been removed in the dashboard.",
            server=self.label,
        )

    async def create_library(
        self,
        name: str,
        collection_type: str,
        paths: Sequence[str],
        *,
        refresh: bool = False,
        options: dict[str, Any] | None = None,
    ) -> Library:
        library_options: d.Dto = {"PathInfos": [{"Path": p} for p in paths], **(options or {})}
        await self._create_library(name, collection_type, paths, refresh, library_options)
        return await self._library_by(name=name)

    async def delete_library(self, name: str, *, refresh: bool = False) -> None:
        await self._delete(
            "/Library/VirtualFolders", {"Name": name, "RefreshLibrary": refresh}, what=f"library {name!r}"
        )

    async def update_library_options(self, library_id: str, changes: dict[str, Any]) -> None:
        library = await self._library_by(library_id=library_id)
        merged = {**library.options, **changes}
        await self._post(
            "/Library/VirtualFolders/LibraryOptions",
            json_body={"Id": library_id, "LibraryOptions": merged},
            what=f"library {library_id}",
            idempotent=True,
        )

    async def refresh_library(self, library_id: str | None = None) -> None:
        if library_id is None:
            self._scan_baseline = (await self.scan_state()).last_end
            self._scan_requested_at = time.monotonic()
            await self._post("/Library/Refresh", idempotent=True)
            return
        self._library_refresh_requested_at[library_id] = time.monotonic()
        await self._post(
            f"/Items/{library_id}/Refresh",
            {
                "Recursive": True,
                "MetadataRefreshMode": "Default",
                "ImageRefreshMode": "Default",
                "ReplaceAllMetadata": False,
                "ReplaceAllImages": False,
            },
            what=f"library {library_id}",
            idempotent=True,
        )

    async def scan_state(self) -> ScanState:
        body = await self._get("/ScheduledTasks", {"IsHidden": False})
        if not isinstance(body, list):
            raise ProviderResponseError(f"{self.label} answered /ScheduledTasks without a list", server=self.label)
        return d.scan_state_from_tasks([t for t in body if isinstance(t, dict)])

    async def wait_for_scan(
        self, *, timeout_s: float = 300.0, library_id: str | None = None, settle_s: float = 1.0
    ) -> ScanState:
        """Global scan: done when the task is Idle with a newer ``EndTimeUtc`` than before the refresh.

        One library: done when its ``RefreshStatus`` is back to Idle after having been seen busy, or,
        if it was never seen busy (a very fast scan), once ``settle_s`` has passed since the request.
        """
        deadline = time.monotonic() + timeout_s
        delay = 0.02
        seen_busy = False
        while True:
            if library_id is None:
                state = await self.scan_state()
                if not state.running and state.last_end is not None and state.last_end != self._scan_baseline:
                    return state
            else:
                library = await self._library_by(library_id=library_id)
                idle = library.refresh_status in (None, "Idle")
                requested = self._library_refresh_requested_at.get(library_id, 0.0)
                if not idle:
                    seen_busy = True
                elif seen_busy or time.monotonic() - requested >= settle_s:
                    return ScanState(running=False, state="Idle", progress=library.refresh_progress)
            if time.monotonic() >= deadline:
                raise ScanTimeout(
                    f"{self.label} was still scanning after {timeout_s:g} s; large libraries take longer, "
                    "raise the scan timeout or check the server's scheduled tasks.",
                    server=self.label,
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    # --- items --------------------------------------------------------------------------------------
    async def _page(self, path: str, params: dict[str, Any]) -> list[d.Dto]:
        return self._query_result(await self._get(path, params), path)

    async def _iter_dtos(self, path: str, params: dict[str, Any], page_size: int) -> AsyncIterator[d.Dto]:
        start = 0
        while True:
            page = await self._page(
                path, {**params, "StartIndex": start, "Limit": page_size, "EnableTotalRecordCount": False}
            )
            for dto in page:
                yield dto
            if len(page) < page_size:
                return
            start += len(page)

    def _item_params(
        self,
        types: Sequence[str] | None,
        *,
        parent_id: str | None,
        user_id: str | None,
        is_played: bool | None,
        is_favorite: bool | None,
        recursive: bool,
    ) -> tuple[str, dict[str, Any]]:
        path, extra = self.items_path(user_id)
        params: dict[str, Any] = {
            **extra,
            "Recursive": recursive,
            "IncludeItemTypes": list(types) if types else None,
            "ParentId": parent_id,
            "IsPlayed": is_played,
            "IsFavorite": is_favorite,
            "Fields": list(ITEM_FIELDS),
            "EnableUserData": True if user_id else None,
        }
        return path, params

    async def iter_items(
        self,
        types: Sequence[str] | None = None,
        *,
        parent_id: str | None = None,
        user_id: str | None = None,
        is_played: bool | None = None,
        is_favorite: bool | None = None,
        min_date_last_saved: datetime | None = None,
        min_date_last_saved_for_user: datetime | None = None,
        ids: Sequence[str] | None = None,
        recursive: bool = True,
        page_size: int = 500,
        sort_by: Sequence[str] | None = STABLE_SORT,
    ) -> AsyncIterator[Item]:
        path, params = self._item_params(
            types,
            parent_id=parent_id,
            user_id=user_id,
            is_played=is_played,
            is_favorite=is_favorite,
            recursive=recursive,
        )
        params["MinDateLastSaved"] = d.format_datetime(min_date_last_saved) if min_date_last_saved else None
        params["MinDateLastSavedForUser"] = (
            d.format_datetime(min_date_last_saved_for_user) if min_date_last_saved_for_user else None
        )
        if sort_by:
            params["SortBy"] = list(sort_by)
            params["SortOrder"] = "Ascending"
        id_groups: list[Sequence[str] | None] = [None]
        if ids is not None:
            id_groups = list(_chunks(list(ids), _IDS_PER_REQUEST))
        for group in id_groups:
            group_params = {**params, "Ids": list(group) if group is not None else None}
            async for dto in self._iter_dtos(path, group_params, page_size):
                yield d.item_from_dto(dto)

    async def count_items(
        self,
        types: Sequence[str] | None = None,
        *,
        parent_id: str | None = None,
        user_id: str | None = None,
        is_played: bool | None = None,
        is_favorite: bool | None = None,
        recursive: bool = True,
    ) -> int:
        path, params = self._item_params(
            types,
            parent_id=parent_id,
            user_id=user_id,
            is_played=is_played,
            is_favorite=is_favorite,
            recursive=recursive,
        )
        params.update(Fields=None, Limit=0, EnableTotalRecordCount=True)
        body = await self._get(path, params)
        if not isinstance(body, dict) or not isinstance(body.get("TotalRecordCount"), int):
            raise ProviderResponseError(f"{self.label} answered {path} without TotalRecordCount", server=self.label)
        return int(body["TotalRecordCount"])

    async def get_item(self, item_id: str, user_id: str | None = None) -> Item:
        return d.item_from_dto(await self._item_dto(item_id, user_id))

    async def get_user_data(self, user_id: str, item_ids: Sequence[str]) -> dict[str, UserData]:
        out: dict[str, UserData] = {}
        async for item in self.iter_items(user_id=user_id, ids=item_ids, sort_by=None):
            if item.user_data is not None:
                out[item.id] = item.user_data
        return out

    async def resume_items(self, user_id: str, *, limit: int = 100) -> list[Item]:
        path, extra = self.resume_path(user_id)
        params = {
            **extra,
            "Limit": limit,
            "Fields": list(ITEM_FIELDS),
            "MediaTypes": "Video",
            "EnableUserData": True,
        }
        return [d.item_from_dto(x) for x in await self._page(path, params)]

    async def update_item(self, item_id: str, changes: dict[str, Any]) -> None:
        current = await self._item_dto(item_id, None)
        await self._post(f"/Items/{item_id}", json_body={**current, **changes}, what=f"item {item_id}", idempotent=True)

    async def set_sort_name(self, item_id: str, sort_name: str, *, lock: bool = True) -> None:
        current = await self._item_dto(item_id, None)
        current["ForcedSortName"] = sort_name
        if lock:
            # Neither server has a "SortName" lock (MetadataField rejects it with 400); the "Name" lock
            # is the one metadata refreshes honour for the name and the forced sort name.
            locked = [str(f) for f in current.get("LockedFields") or []]
            if "Name" not in locked:
                locked.append("Name")
            current["LockedFields"] = locked
        await self._post(f"/Items/{item_id}", json_body=current, what=f"item {item_id}", idempotent=True)

    async def delete_item(self, item_id: str) -> None:
        await self._delete(f"/Items/{item_id}", None, what=f"item {item_id}")

    # --- user actions -------------------------------------------------------------------------------
    async def mark_played(self, user_id: str, item_id: str, date_played: datetime | None = None) -> UserData:
        return d.user_data_from_dto(await self._set_played(user_id, item_id, True, date_played), item_id)

    async def mark_unplayed(self, user_id: str, item_id: str) -> UserData:
        return d.user_data_from_dto(await self._set_played(user_id, item_id, False, None), item_id)

    async def set_favorite(self, user_id: str, item_id: str, favorite: bool) -> UserData:
        return d.user_data_from_dto(await self._set_favorite(user_id, item_id, favorite), item_id)

    # --- collections --------------------------------------------------------------------------------
    async def list_collections(self) -> list[Collection]:
        path, params = self._item_params(
            ["BoxSet"], parent_id=None, user_id=None, is_played=None, is_favorite=None, recursive=True
        )
        params["Fields"] = ["ChildCount", "SortName"]
        return [d.collection_from_dto(x) async for x in self._iter_dtos(path, params, 500)]

    async def find_collection(self, name: str) -> Collection | None:
        return next((c for c in await self.list_collections() if c.name == name), None)

    async def create_collection(self, name: str, item_ids: Sequence[str] = ()) -> Collection:
        response = await self._post("/Collections", {"Name": name, "Ids": list(item_ids) or None, "IsLocked": False})
        body = self._json_object(response, "/Collections")
        return Collection(id=d.normalise_id(str(body["Id"])), name=name, child_count=len(item_ids))

    async def add_to_collection(self, collection_id: str, item_ids: Sequence[str]) -> None:
        for group in _chunks(list(item_ids), _IDS_PER_REQUEST):
            await self._post(
                f"/Collections/{collection_id}/Items",
                {"Ids": list(group)},
                what=f"collection {collection_id}",
                idempotent=True,
            )

    async def remove_from_collection(self, collection_id: str, item_ids: Sequence[str]) -> None:
        for group in _chunks(list(item_ids), _IDS_PER_REQUEST):
            await self._delete(
                f"/Collections/{collection_id}/Items", {"Ids": list(group)}, f"collection {collection_id}"
            )

    async def collection_items(self, collection_id: str, user_id: str | None = None) -> list[Item]:
        """Members in the collection's own order (no ``SortBy``, so the server's display order applies)."""
        return [
            item
            async for item in self.iter_items(parent_id=collection_id, user_id=user_id, recursive=False, sort_by=None)
        ]

    # --- playlists ----------------------------------------------------------------------------------
    async def list_playlists(self, user_id: str | None = None) -> list[Playlist]:
        path, params = self._item_params(
            ["Playlist"], parent_id=None, user_id=user_id, is_played=None, is_favorite=None, recursive=True
        )
        params["Fields"] = ["ChildCount", "SortName"]
        return [d.playlist_from_dto(x) async for x in self._iter_dtos(path, params, 500)]

    async def find_playlist(self, name: str, user_id: str | None = None) -> Playlist | None:
        return next((p for p in await self.list_playlists(user_id) if p.name == name), None)

    async def create_playlist(
        self,
        name: str,
        item_ids: Sequence[str],
        user_id: str,
        *,
        media_type: str = "Video",
        is_public: bool = True,
    ) -> Playlist:
        first, rest = list(item_ids[:_IDS_PER_REQUEST]), list(item_ids[_IDS_PER_REQUEST:])
        body = await self._create_playlist(name, first, user_id, media_type, is_public)
        playlist = Playlist(id=d.normalise_id(str(body["Id"])), name=name, child_count=len(item_ids))
        if rest:
            await self.add_to_playlist(playlist.id, rest, user_id)
        return playlist

    async def add_to_playlist(self, playlist_id: str, item_ids: Sequence[str], user_id: str) -> None:
        for group in _chunks(list(item_ids), _IDS_PER_REQUEST):
            await self._post(
                f"/Playlists/{playlist_id}/Items",
                {"Ids": list(group), "UserId": user_id},
                what=f"playlist {playlist_id}",
            )

    async def playlist_entries(self, playlist_id: str, user_id: str | None = None) -> list[PlaylistEntry]:
        path = f"/Playlists/{playlist_id}/Items"
        entries: list[PlaylistEntry] = []
        start, page_size = 0, 500
        while True:
            body = await self._get(
                path,
                {"UserId": user_id, "StartIndex": start, "Limit": page_size},
                what=f"playlist {playlist_id}",
            )
            page = self._query_result(body, path)
            entries.extend(d.playlist_entry_from_dto(x) for x in page)
            if len(page) < page_size:
                return entries
            start += len(page)

    async def remove_from_playlist(self, playlist_id: str, entry_ids: Sequence[str]) -> None:
        for group in _chunks(list(entry_ids), _IDS_PER_REQUEST):
            await self._delete(f"/Playlists/{playlist_id}/Items", {"EntryIds": list(group)}, f"playlist {playlist_id}")

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
