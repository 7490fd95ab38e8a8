"""The connection every Jellyfin/Emby call goes through: transport, flavour hooks, request helpers, and the
constants the calls share (which fields to ask for, the paging order, ids per request)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import httpx

from providers.base import ServerKind
from providers.errors import MediaServerError, ProviderNotFound, ProviderRefused, ProviderResponseError
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

IDS_PER_REQUEST = 100


def chunks(values: Sequence[str], size: int) -> list[Sequence[str]]:
    return [values[i : i + size] for i in range(0, len(values), size)]


def _quote(value: str) -> str:
    return value.replace('"', "")


class Connection:
    """The connection to one server: its transport, the flavour hooks ``jellyfin.py`` and ``emby.py`` fill in,
    and the request helpers every group of calls uses."""

    kind: ServerKind
    product: str
    prefix: str = ""
    key_hint: str = ""
    query_routes_since: tuple[int, ...] | None = None
    """The first version serving ``GET /Users/Query`` and ``/Library/VirtualFolders/Query`` (None: never)."""

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
        self._version: tuple[int, ...] | None = None
        self._query_routes: bool | None = None

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

    # --- what this server version has -------------------------------------------------------------
    def _remember_version(self, raw: object) -> None:
        parts = []
        for part in str(raw or "").split("."):
            if not part.isdigit():
                break
            parts.append(int(part))
        self._version = tuple(parts) if parts else None

    async def _server_version(self) -> tuple[int, ...] | None:
        """The server's version from ``/System/Info``, asked once per connection (None: not a dotted number)."""
        if self._version is None:
            body = await self._get("/System/Info")
            self._remember_version(body.get("Version") if isinstance(body, dict) else None)
        return self._version

    async def _list_resource(self, path: str, params: Params | None = None) -> list[d.Dto]:
        """A list the server serves as ``{path}/Query`` (a QueryResult; Emby 4.7 and later) or as ``path`` (a bare
        array; Jellyfin, older Emby). Which one is decided once, from the server version; a 404 or 403 on one form
        (Emby 4.9 answers 403 to ``GET /Users``) switches to the other for the rest of the connection."""
        if self.query_routes_since is None:
            return self._bare_list(await self._get(path, params), path)
        if self._query_routes is None:
            version = await self._server_version()
            self._query_routes = version is None or version >= self.query_routes_since
        failures: list[MediaServerError] = []
        for use_query in (self._query_routes, not self._query_routes):
            route = f"{path}/Query" if use_query else path
            try:
                body = await self._get(route, params)
            except (ProviderNotFound, ProviderRefused) as exc:
                failures.append(exc)
                continue
            self._query_routes = use_query
            return self._query_result(body, route) if use_query else self._bare_list(body, route)
        refused = [f for f in failures if isinstance(f, ProviderRefused)]
        if refused:
            raise ProviderRefused(
                f"{self.label} refused both GET {path}/Query and GET {path} "
                f"({', '.join(str(f.status_code) for f in failures)}): the API key must be an administrator's; "
                f"{self.key_hint}",
                server=self.label,
                status_code=403,
            )
        raise failures[-1]

    def _bare_list(self, body: Any, path: str) -> list[d.Dto]:
        if not isinstance(body, list):
            raise ProviderResponseError(f"{self.label} answered {path} without a list", server=self.label)
        return [x for x in body if isinstance(x, dict)]

    def _json_object(self, response: httpx.Response, path: str) -> d.Dto:
        body = self._http.decode(response, response.request.method, path)
        if not isinstance(body, dict):
            raise ProviderResponseError(f"{self.label} answered {path} with {body!r:.80}", server=self.label)
        return body
