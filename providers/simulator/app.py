"""The simulator's HTTP face: a Starlette app speaking the Jellyfin or the Emby REST API.

Routing is case-insensitive and, for Emby, works with or without the ``/emby`` prefix, like the real
servers. Query parameter names are case-insensitive too. Every route declares who may call it:
anyone, any authenticated caller, or an administrator (an API key counts as one). ``/Sim/...`` routes
are the simulator's own admin controls (playback, webhook targets, faults, catalogue changes).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from providers.simulator import playlist_sharing, validation
from providers.simulator.auth import Caller, find_token
from providers.simulator.catalog import CatalogSeries, movie_from_record
from providers.simulator.control_page import add_routes as add_control_routes
from providers.simulator.dto import BACKDROP_TYPES, DtoBuilder
from providers.simulator.images import placeholder_png
from providers.simulator.model import SimItem, SimToken, SimUser, utcnow
from providers.simulator.query import ItemQuery, QueryEngine, QueryError
from providers.simulator.state import SimError, Simulator

METADATA_FIELDS = frozenset(
    {"Cast", "Genres", "ProductionLocations", "Studios", "Tags", "Name", "Overview", "Runtime", "OfficialRating"}
)

Handler = Callable[["Ctx"], Awaitable[Response]]


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def json_response(value: Any, status: int = 200) -> Response:
    return Response(dumps(value), status_code=status, media_type="application/json; charset=utf-8")


def no_content() -> Response:
    return Response(status_code=204)


class CaseInsensitiveBody(dict[str, Any]):
    """A JSON object whose top-level keys match case-insensitively, like ASP.NET's model binding."""

    def __init__(self, values: dict[str, Any]) -> None:
        super().__init__(values)
        self._lower = {k.lower(): k for k in values}

    def get(self, key: str, default: Any = None) -> Any:
        actual = self._lower.get(key.lower())
        return super().get(actual, default) if actual is not None else default

    def __getitem__(self, key: str) -> Any:
        actual = self._lower.get(key.lower(), key)
        return super().__getitem__(actual)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._lower


@dataclass
class Ctx:
    request: Request
    sim: Simulator
    params: dict[str, str]
    q: dict[str, str]
    caller: Caller | None
    dto: DtoBuilder
    engine: QueryEngine

    async def body(self) -> Any:
        raw = await self.request.body()
        if not raw.strip():
            return {}
        try:
            parsed = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise SimError(400, f"Request body is not JSON: {exc}") from exc
        return CaseInsensitiveBody(parsed) if isinstance(parsed, dict) else parsed

    def arg(self, name: str) -> str | None:
        value = self.q.get(name.lower())
        return value if value not in (None, "") else None

    def item_id(self, raw: str) -> str:
        return raw.replace("-", "").lower() if self.sim.flavor == "jellyfin" else raw

    def require_caller(self) -> Caller:
        if self.caller is None:
            raise SimError(401, "Unauthorized")
        return self.caller

    def user_for(self, explicit: str | None, *, required: bool = False) -> SimUser | None:
        """The user a request acts for: ``userId`` if given (self or admin only), else the token's user."""
        caller = self.require_caller()
        if explicit:
            user = self.sim.user(explicit)
            if caller.user is not None and caller.user.id != user.id and not caller.user.is_admin:
                raise SimError(403, "Access denied to another user's data")
            return user
        if caller.user is None and required:
            raise SimError(400, "userId is required when authenticating with an API key")
        return caller.user


@dataclass
class RouteSpec:
    methods: frozenset[str]
    pattern: re.Pattern[str]
    access: str  # anon | user | admin
    flavors: frozenset[str]
    handler: Handler


class SimulatorApp:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.dto = DtoBuilder(sim)
        self.engine = QueryEngine(sim)
        self.routes: list[RouteSpec] = []
        self._register()

    # --- routing ------------------------------------------------------------------------------------
    def add(self, methods: str, template: str, access: str, handler: Handler, flavors: str = "jellyfin emby") -> None:
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
        self.routes.append(
            RouteSpec(
                frozenset(methods.upper().split()),
                re.compile(f"^{regex}/?$", re.IGNORECASE),
                access,
                frozenset(flavors.split()),
                handler,
            )
        )

    async def dispatch(self, request: Request) -> Response:
        sim = self.sim
        path = request.url.path
        if sim.flavor == "emby" and path.lower().startswith("/emby/"):
            path = path[5:]
        method = request.method.upper()
        spec, params = None, {}
        for route in self.routes:
            if sim.flavor not in route.flavors and sim.variant not in route.flavors:
                continue
            match = route.pattern.match(path)
            if match and (method in route.methods or (method == "HEAD" and "GET" in route.methods)):
                spec, params = route, match.groupdict()
                break
        if spec is None:
            return Response(status_code=404)
        query: dict[str, str] = {}
        for key, value in request.query_params.multi_items():
            lowered = key.lower()
            query[lowered] = f"{query[lowered]},{value}" if lowered in query and value else value
        if not path.lower().startswith("/sim/"):
            fault = sim.take_fault(method, path)
            if fault is not None:
                return Response(f"Injected fault {fault}", status_code=fault, media_type="text/plain")
        headers = {k.lower(): v for k, v in request.headers.items()}
        info = find_token(sim.flavor, headers, query, legacy=sim.legacy_auth)
        caller = None
        if info.token is not None:
            token = sim.tokens.get(info.token)
            if token is None:
                if spec.access != "anon":
                    return Response("Invalid token", status_code=401, media_type="text/plain")
            else:
                user = sim.users.get(token.user_id) if token.user_id else None
                caller = Caller(token, user)
        if spec.access != "anon" and caller is None:
            return Response("Unauthorized", status_code=401, media_type="text/plain")
        if spec.access == "admin" and caller is not None and not caller.is_admin:
            return Response("Forbidden", status_code=403, media_type="text/plain")
        if caller is not None and caller.user is not None and caller.user.policy.get("IsDisabled"):
            return Response("User account has been disabled.", status_code=401, media_type="text/plain")
        if sim.flavor == "jellyfin" and not path.lower().startswith("/sim/"):
            names = {k.lower(): k for k in request.query_params}
            errors = validation.binding_errors(params, query, names)
            if errors:
                return validation.problem(errors)
            query = validation.drop_unbound(query)
        ctx = Ctx(request, sim, params, query, caller, self.dto, self.engine)
        try:
            return await spec.handler(ctx)
        except SimError as exc:
            return Response(exc.message, status_code=exc.status, media_type="text/plain")
        except QueryError as exc:
            return Response(str(exc), status_code=400, media_type="text/plain")

    def _register(self) -> None:
        from providers.simulator import browse, emby_versions, item_images, server_config, shows, user_admin

        # endpoint groups kept in their own modules; first, so their literal paths win over the {id} routes below
        for group in (emby_versions, shows, browse, server_config, item_images, user_admin, playlist_sharing):
            group.routes(self)
        a = self.add
        # system and auth
        a("GET", "/System/Info/Public", "anon", self.public_info)
        a("GET POST", "/System/Ping", "anon", self.ping)
        a("GET", "/System/Info", "user", self.system_info)
        a("POST", "/Users/AuthenticateByName", "anon", self.authenticate)
        a("GET", "/Users/Public", "anon", self.public_users)
        a("GET", "/Auth/Keys", "admin", self.list_keys)
        a("POST", "/Auth/Keys", "admin", self.create_key)
        a("DELETE", "/Auth/Keys/{key}", "admin", self.revoke_key)
        # users
        a("GET", "/Users/Me", "user", self.users_me, "jellyfin")
        a("GET", "/Users", "user", self.list_users)
        a("POST", "/Users/New", "admin", self.new_user)
        a("GET", "/Users/{userId}", "user", self.get_user)
        a("POST", "/Users/{userId}/Policy", "admin", self.update_policy)
        # items (resume and counts before the {itemId} routes)
        a("GET", "/Items", "user", self.items)
        a("GET", "/Users/{userId}/Items/Resume", "user", self.resume)
        a("GET", "/UserItems/Resume", "user", self.resume, "jellyfin")
        a("GET", "/Users/{userId}/Items", "user", self.items)
        a("GET", "/Items/Counts", "user", self.counts)
        a("GET", "/Users/{userId}/Items/{itemId}", "user", self.get_item)
        a("GET", "/Items/{itemId}", "user", self.get_item, "jellyfin")
        a("POST", "/Items/{itemId}", "admin", self.update_item)
        a("DELETE", "/Items/{itemId}", "admin", self.delete_item)
        a("POST", "/Items/{itemId}/Delete", "admin", self.delete_item, "emby")
        a("POST", "/Items/{itemId}/Refresh", "admin", self.refresh_item)
        a("GET", "/Users/{userId}/Views", "user", self.views)
        a("GET", "/UserViews", "user", self.views, "jellyfin")
        a("GET", "/UserItems/{itemId}/UserData", "user", self.item_user_data, "jellyfin")
        # play state and favourites
        a("POST DELETE", "/UserPlayedItems/{itemId}", "user", self.played, "jellyfin")
        a("POST DELETE", "/Users/{userId}/PlayedItems/{itemId}", "user", self.played)
        a("POST", "/Users/{userId}/PlayedItems/{itemId}/Delete", "user", self.unplayed_alias, "emby")
        a("POST DELETE", "/UserFavoriteItems/{itemId}", "user", self.favorite, "jellyfin")
        a("POST DELETE", "/Users/{userId}/FavoriteItems/{itemId}", "user", self.favorite)
        a("POST", "/Users/{userId}/FavoriteItems/{itemId}/Delete", "user", self.unfavorite_alias, "emby")
        a("POST", "/Sessions/Playing", "user", self.session_start)
        a("POST", "/Sessions/Playing/Progress", "user", self.session_progress)
        a("POST", "/Sessions/Playing/Stopped", "user", self.session_stop)
        # libraries and scans
        a("GET", "/Library/VirtualFolders", "admin", self.virtual_folders)
        a("POST", "/Library/VirtualFolders", "admin", self.add_virtual_folder)
        a("DELETE", "/Library/VirtualFolders", "admin", self.remove_virtual_folder)
        a("POST", "/Library/VirtualFolders/Delete", "admin", self.remove_virtual_folder, "emby")
        a("POST", "/Library/VirtualFolders/LibraryOptions", "admin", self.library_options)
        a("POST", "/Library/VirtualFolders/Paths", "admin", self.add_path)
        a("DELETE", "/Library/VirtualFolders/Paths", "admin", self.remove_path)
        a("POST", "/Library/VirtualFolders/Paths/Delete", "admin", self.remove_path, "emby")
        a("POST", "/Library/Refresh", "admin", self.refresh_all)
        a("GET", "/ScheduledTasks", "admin", self.tasks)
        a("GET", "/ScheduledTasks/{taskId}", "admin", self.task)
        a("POST", "/ScheduledTasks/Running/{taskId}", "admin", self.start_task)
        # collections and playlists
        a("POST", "/Collections", "user", self.create_collection)
        a("POST", "/Collections/{collectionId}/Items", "user", self.collection_add)
        a("DELETE", "/Collections/{collectionId}/Items", "user", self.collection_remove)
        a("POST", "/Collections/{collectionId}/Items/Delete", "user", self.collection_remove, "emby")
        a("POST", "/Playlists", "user", self.create_playlist)
        a("GET", "/Playlists/{playlistId}/Items", "user", self.playlist_items)
        a("POST", "/Playlists/{playlistId}/Items", "user", self.playlist_add)
        a("DELETE", "/Playlists/{playlistId}/Items", "user", self.playlist_remove)
        a("POST", "/Playlists/{playlistId}/Items/Delete", "user", self.playlist_remove, "emby")
        a("POST", "/Playlists/{playlistId}/Items/{itemId}/Move/{newIndex}", "user", self.playlist_move)
        # media
        a("GET", "/Items/{itemId}/Images/{imageType}", "anon", self.image)
        a("GET", "/Items/{itemId}/Images/{imageType}/{imageIndex}", "anon", self.image)
        a("GET", "/Videos/{itemId}/stream", "user", self.stream)
        a("GET", "/Videos/{itemId}/stream.{container}", "user", self.stream)
        # the simulator's own controls
        a("GET", "/Sim/Users", "admin", self.sim_users)
        a("POST", "/Sim/Playback/{action}", "admin", self.sim_playback)
        a("POST DELETE", "/Sim/Users/{userId}/Played/{itemId}", "admin", self.sim_played)
        a("POST DELETE", "/Sim/Users/{userId}/Favorite/{itemId}", "admin", self.sim_favorite)
        a("GET", "/Sim/Webhooks", "admin", self.sim_webhooks)
        a("POST", "/Sim/Webhooks", "admin", self.sim_add_webhook)
        a("DELETE", "/Sim/Webhooks", "admin", self.sim_clear_webhooks)
        a("GET", "/Sim/Webhooks/Sent", "admin", self.sim_webhooks_sent)
        a("POST", "/Sim/Items", "admin", self.sim_add_item)
        a("DELETE", "/Sim/Items/{itemId}", "admin", self.sim_remove_item)
        a("POST", "/Sim/Faults", "admin", self.sim_add_fault)
        a("DELETE", "/Sim/Faults", "admin", self.sim_clear_faults)
        a("POST", "/Sim/LegacyAuth", "admin", self.sim_legacy_auth)
        add_control_routes(self)  # /Sim/Control: the control page (providers/simulator/control_page.py)

    # --- system -------------------------------------------------------------------------------------
    def _public_info(self) -> dict[str, Any]:
        sim = self.sim
        info: dict[str, Any] = {
            "LocalAddress": sim.server_url,
            "ServerName": sim.server_name,
            "Version": sim.version,
            "OperatingSystem": "Linux",
            "Id": sim.server_id,
        }
        if sim.flavor == "jellyfin":
            info["ProductName"] = "Jellyfin Server"
            info["StartupWizardCompleted"] = True
        return info

    async def public_info(self, ctx: Ctx) -> Response:
        return json_response(self._public_info())

    async def ping(self, ctx: Ctx) -> Response:
        return json_response("Jellyfin Server" if self.sim.flavor == "jellyfin" else "Emby Server")

    async def system_info(self, ctx: Ctx) -> Response:
        info = {
            **self._public_info(),
            "OperatingSystemDisplayName": "Linux",
            "HasPendingRestart": False,
            "IsShuttingDown": False,
            "SupportsLibraryMonitor": True,
            "WebSocketPortNumber": 8096,
            "CompletedInstallations": [],
            "CanSelfRestart": False,
            "CanLaunchWebBrowser": False,
            "HasUpdateAvailable": False,
        }
        if self.sim.flavor == "jellyfin":
            info.update(CastReceiverApplications=[], SystemArchitecture="X64")
        else:
            info.update(HttpServerPortNumber=8096, SupportsHttps=False, HttpsPortNumber=8920, CanSelfUpdate=False)
        return json_response(info)

    def _session_info(self, user: SimUser, token: SimToken) -> dict[str, Any]:
        now = net(utcnow())
        info: dict[str, Any] = {
            "PlayState": {"CanSeek": False, "IsPaused": False, "IsMuted": False, "RepeatMode": "RepeatNone"},
            "AdditionalUsers": [],
            "RemoteEndPoint": "127.0.0.1",
            "PlayableMediaTypes": [],
            "Id": secrets.token_hex(16),
            "UserId": user.id,
            "UserName": user.name,
            "Client": token.client,
            "LastActivityDate": now,
            "DeviceName": token.device_name,
            "DeviceId": token.device_id,
            "ApplicationVersion": token.version,
            "IsActive": True,
            "SupportsMediaControl": False,
            "SupportsRemoteControl": False,
            "ServerId": self.sim.server_id,
            "SupportedCommands": [],
        }
        if self.sim.flavor == "jellyfin":
            info.update(LastPlaybackCheckIn=now, HasCustomDeviceName=False)
        return info

    async def authenticate(self, ctx: Ctx) -> Response:
        sim = self.sim
        body = await ctx.body()
        headers = {k.lower(): v for k, v in ctx.request.headers.items()}
        info = find_token(sim.flavor, headers, ctx.q, legacy=True)
        if sim.flavor == "jellyfin" and not (info.client and info.device_id and info.version):
            raise SimError(400, "Authorization header must name Client, Device, DeviceId and Version")
        name = str(body.get("Username") or "")
        password = body.get("Pw") if body.get("Pw") is not None else body.get("Password")
        user = next((u for u in sim.users.values() if u.name.lower() == name.lower()), None)
        if user is None or user.password != (password or "") or user.policy.get("IsDisabled"):
            raise SimError(401, "Invalid username or password entered.")
        token = SimToken(
            secrets.token_hex(16),
            user.id,
            info.client or "unknown",
            device_id=info.device_id,
            device_name=info.device,
            client=info.client,
            version=info.version,
        )
        sim.tokens[token.token] = token
        user.last_login = user.last_activity = utcnow()
        return json_response(
            {
                "User": ctx.dto.user(user),
                "SessionInfo": self._session_info(user, token),
                "AccessToken": token.token,
                "ServerId": sim.server_id,
            }
        )

    async def public_users(self, ctx: Ctx) -> Response:
        return json_response([])

    async def list_keys(self, ctx: Ctx) -> Response:
        keys = [t for t in self.sim.tokens.values() if t.user_id is None]
        items = [
            {"Id": n, "AccessToken": t.token, "AppName": t.app_name, "DateCreated": net(t.created), "IsActive": True}
            for n, t in enumerate(keys, start=1)
        ]
        result: dict[str, Any] = {"Items": items, "TotalRecordCount": len(items)}
        if self.sim.flavor == "jellyfin":
            result["StartIndex"] = 0
        return json_response(result)

    async def create_key(self, ctx: Ctx) -> Response:
        app = ctx.arg("app")
        if not app:
            raise SimError(400, "app is required")
        key = secrets.token_hex(16)
        self.sim.tokens[key] = SimToken(key, None, app)
        return no_content()

    async def revoke_key(self, ctx: Ctx) -> Response:
        self.sim.tokens.pop(ctx.params["key"], None)
        return no_content()

    # --- users --------------------------------------------------------------------------------------
    async def users_me(self, ctx: Ctx) -> Response:
        caller = ctx.require_caller()
        if caller.user is None:
            raise SimError(400, "An API key has no user")
        return json_response(ctx.dto.user(caller.user))

    async def list_users(self, ctx: Ctx) -> Response:
        hidden, disabled = ctx.arg("isHidden"), ctx.arg("isDisabled")
        users = [
            u
            for u in self.sim.users.values()
            if (hidden is None or str(bool(u.policy.get("IsHidden"))).lower() == hidden.lower())
            and (disabled is None or str(bool(u.policy.get("IsDisabled"))).lower() == disabled.lower())
        ]
        return json_response([ctx.dto.user(u) for u in users])

    async def get_user(self, ctx: Ctx) -> Response:
        user = ctx.user_for(ctx.params["userId"])
        assert user is not None
        return json_response(ctx.dto.user(user))

    async def new_user(self, ctx: Ctx) -> Response:
        body = await ctx.body()
        name = str(body.get("Name") or "")
        if not name or any(u.name.lower() == name.lower() for u in self.sim.users.values()):
            raise SimError(400, "A user with that name already exists or the name is empty")
        return json_response(ctx.dto.user(self.sim.add_user(name, str(body.get("Password") or ""))))

    async def update_policy(self, ctx: Ctx) -> Response:
        from providers.simulator.policies import default_policy, zero_like

        user = self.sim.user(ctx.params["userId"])
        body = await ctx.body()
        if not isinstance(body, dict):
            raise SimError(400, "Policy must be an object")
        if self.sim.flavor == "jellyfin":
            for required in ("AuthenticationProviderId", "PasswordResetProviderId"):
                if not body.get(required):
                    raise SimError(400, f"The {required} field is required.")
        # Like the real DTO binding: properties left out fall back to their type's default.
        template = default_policy(self.sim.flavor, is_admin=False)
        policy = {key: body.get(key, zero_like(value)) for key, value in template.items()}
        policy["EnabledFolders"] = [
            str(f).replace("-", "").lower() if self.sim.flavor == "jellyfin" else str(f)
            for f in policy.get("EnabledFolders") or []
        ]
        user.policy = policy
        self.sim.bump()
        return no_content()

    # --- items --------------------------------------------------------------------------------------
    def _fields(self, ctx: Ctx) -> set[str]:
        return {f.strip().lower() for f in (ctx.arg("fields") or "").split(",") if f.strip()}

    def _query_user(self, ctx: Ctx) -> SimUser | None:
        return ctx.user_for(ctx.params.get("userId") or ctx.arg("userId"))

    async def items(self, ctx: Ctx) -> Response:
        user = self._query_user(ctx)
        query = ItemQuery.parse(ctx.q, user, ctx.item_id)
        ids = ctx.engine.run(query)
        return self._page(ctx, ids, user)

    def _page(self, ctx: Ctx, ids: list[str], user: SimUser | None) -> Response:
        start, limit = paging(ctx)
        page = ids[start : start + limit] if limit is not None else ids[start:]
        fields = self._fields(ctx)
        with_user = user if (ctx.arg("enableUserData") or "true").lower() != "false" else None
        images = (ctx.arg("enableImages") or "true").lower() != "false"
        items = [ctx.dto.item(self.sim.items[i], fields, with_user, images=images) for i in page]
        total_wanted = (ctx.arg("enableTotalRecordCount") or "true").lower() != "false"
        result: dict[str, Any] = {"Items": items, "TotalRecordCount": len(ids) if total_wanted else 0}
        if self.sim.flavor == "jellyfin":
            result["StartIndex"] = start
        return json_response(result)

    async def resume(self, ctx: Ctx) -> Response:
        user = ctx.user_for(ctx.params.get("userId") or ctx.arg("userId"), required=True)
        assert user is not None
        visible = ctx.engine.visible_libraries(user)
        last_played = {
            key: data.last_played or self.sim.epoch
            for key, data in self.sim.user_data.of_user(user.id).items()
            if data.position_ticks > 0 and not data.played
        }
        items = [
            i
            for i in map(self.sim.items.__getitem__, self.sim.catalogue_index().items_for(last_played))
            if not i.is_folder and i.source_id is None and (i.library_id is None or i.library_id in visible)
        ]
        items.sort(key=lambda i: last_played[self.sim.data_key(i)], reverse=True)
        return self._page(ctx, [i.id for i in items], user)

    async def counts(self, ctx: Ctx) -> Response:
        user = self._query_user(ctx)
        visible = ctx.engine.visible_libraries(user)
        tally: dict[str, int] = {}
        for item in self.sim.items.values():
            if item.library_id is None or item.library_id in visible:
                tally[item.type] = tally.get(item.type, 0) + 1
        return json_response(
            {
                "MovieCount": tally.get("Movie", 0),
                "SeriesCount": tally.get("Series", 0),
                "EpisodeCount": tally.get("Episode", 0),
                "ArtistCount": 0,
                "ProgramCount": 0,
                "TrailerCount": 0,
                "SongCount": 0,
                "AlbumCount": 0,
                "MusicVideoCount": 0,
                "BoxSetCount": tally.get("BoxSet", 0),
                "BookCount": 0,
                "ItemCount": sum(tally.values()),
            }
        )

    def _visible_item(self, ctx: Ctx, item_id: str, user: SimUser | None) -> SimItem:
        item = self.sim.item(ctx.item_id(item_id))
        if user is not None and item.library_id and item.library_id not in ctx.engine.visible_libraries(user):
            raise SimError(404, f"Item {item_id} not found")
        return item

    async def get_item(self, ctx: Ctx) -> Response:
        user = self._query_user(ctx)
        item = self._visible_item(ctx, ctx.params["itemId"], user)
        return json_response(ctx.dto.item(item, None, user))

    async def views(self, ctx: Ctx) -> Response:
        user = ctx.user_for(ctx.params.get("userId") or ctx.arg("userId"), required=True)
        visible = ctx.engine.visible_libraries(user)
        ids = [lib for lib in self.sim.libraries if lib in visible and lib in self.sim.items]
        return self._page(ctx, ids, user)

    async def item_user_data(self, ctx: Ctx) -> Response:
        user = ctx.user_for(ctx.arg("userId"), required=True)
        assert user is not None
        item = self._visible_item(ctx, ctx.params["itemId"], user)
        return json_response(ctx.dto.user_data(user, item))

    async def update_item(self, ctx: Ctx) -> Response:
        item = self.sim.item(ctx.item_id(ctx.params["itemId"]))
        body = await ctx.body()
        if not isinstance(body, dict) or not body.get("Name"):
            raise SimError(400, "The item must have a Name")
        locked = body.get("LockedFields")
        if locked is not None:
            bad = [f for f in locked if f not in METADATA_FIELDS]
            if bad:
                raise SimError(400, f"The JSON value could not be converted to MetadataField: {bad[0]}")
        apply_item_update(item, body)
        self.sim.items.mark_changed()  # new provider ids can change the item's user-data key
        self.sim.bump()
        return no_content()

    async def delete_item(self, ctx: Ctx) -> Response:
        item = self.sim.item(ctx.item_id(ctx.params["itemId"]))
        self.sim.remove_item(item.id)
        self.sim.playlist_entries.pop(item.id, None)
        return no_content()

    async def refresh_item(self, ctx: Ctx) -> Response:
        item = self.sim.item(ctx.item_id(ctx.params["itemId"]))
        if item.id in self.sim.libraries:
            self.sim.start_scan(item.id)
        return no_content()

    # --- play state ---------------------------------------------------------------------------------
    def _acting_user(self, ctx: Ctx) -> SimUser:
        user = ctx.user_for(ctx.params.get("userId") or ctx.arg("userId"), required=True)
        assert user is not None
        return user

    async def played(self, ctx: Ctx) -> Response:
        user = self._acting_user(ctx)
        item = self._visible_item(ctx, ctx.params["itemId"], user)
        played = ctx.request.method.upper() == "POST"
        date = parse_date_played(ctx.arg("datePlayed")) if played else None
        data = self.sim.mark_played(user.id, item.id, played, date)
        return json_response(ctx.dto.user_data(user, item, data))

    async def unplayed_alias(self, ctx: Ctx) -> Response:
        user = self._acting_user(ctx)
        item = self._visible_item(ctx, ctx.params["itemId"], user)
        data = self.sim.mark_played(user.id, item.id, False)
        return json_response(ctx.dto.user_data(user, item, data))

    async def favorite(self, ctx: Ctx) -> Response:
        user = self._acting_user(ctx)
        item = self._visible_item(ctx, ctx.params["itemId"], user)
        data = self.sim.set_favorite(user.id, item.id, ctx.request.method.upper() == "POST")
        return json_response(ctx.dto.user_data(user, item, data))

    async def unfavorite_alias(self, ctx: Ctx) -> Response:
        user = self._acting_user(ctx)
        item = self._visible_item(ctx, ctx.params["itemId"], user)
        data = self.sim.set_favorite(user.id, item.id, False)
        return json_response(ctx.dto.user_data(user, item, data))

    async def _session_body(self, ctx: Ctx) -> tuple[SimUser, SimItem, dict[str, Any]]:
        caller = ctx.require_caller()
        if caller.user is None:
            raise SimError(400, "Playback is reported with a user's token, not an API key")
        body = await ctx.body()
        if not isinstance(body, dict) or not body.get("ItemId"):
            raise SimError(400, "ItemId is required")
        item = self._visible_item(ctx, str(body["ItemId"]), caller.user)
        return caller.user, item, body

    async def session_start(self, ctx: Ctx) -> Response:
        user, item, body = await self._session_body(ctx)
        self.sim.play_start(user.id, item.id, int(body.get("PositionTicks") or 0), device=user_device(ctx))
        return no_content()

    async def session_progress(self, ctx: Ctx) -> Response:
        user, item, body = await self._session_body(ctx)
        self.sim.play_progress(user.id, item.id, int(body.get("PositionTicks") or 0), paused=bool(body.get("IsPaused")))
        return no_content()

    async def session_stop(self, ctx: Ctx) -> Response:
        user, item, body = await self._session_body(ctx)
        position = body.get("PositionTicks")
        self.sim.play_stop(user.id, item.id, int(position) if position is not None else None)
        return no_content()

    # --- libraries ----------------------------------------------------------------------------------
    async def virtual_folders(self, ctx: Ctx) -> Response:
        return json_response([ctx.dto.library(lib) for lib in self.sim.libraries.values()])

    async def add_virtual_folder(self, ctx: Ctx) -> Response:
        body = await ctx.body()
        body = body if isinstance(body, dict) else {}
        options = body.get("LibraryOptions") if isinstance(body.get("LibraryOptions"), dict) else None
        if self.sim.flavor == "jellyfin":
            # Name, collection type, paths and refresh come from the query only; the body is AddVirtualFolderDto.
            body = {"LibraryOptions": options} if options is not None else {}
            if not ctx.arg("name"):
                return validation.problem({"name": ["The name field is required."]})
        name = ctx.arg("name") or body.get("Name")
        collection_type = ctx.arg("collectionType") or body.get("CollectionType")
        paths = [p for p in (ctx.arg("paths") or "").split(",") if p] or list(body.get("Paths") or [])
        if not paths and options:
            paths = [
                str(p.get("Path")) for p in options.get("PathInfos") or [] if isinstance(p, dict) and p.get("Path")
            ]
        if not name:
            raise SimError(400, "name is required")
        for path in paths:
            if not is_dir(path):
                raise SimError(400, f"The path does not exist: {path}")
        library = self.sim.create_library(str(name), collection_type, paths, options)
        refresh = ctx.arg("refreshLibrary") or str(body.get("RefreshLibrary", "false"))
        if refresh.lower() == "true":
            self.sim.start_scan(library.id)
        return no_content()

    async def remove_virtual_folder(self, ctx: Ctx) -> Response:
        name = ctx.arg("name")
        if not name:
            raise SimError(400, "name is required")
        self.sim.delete_library(name)
        return no_content()

    async def library_options(self, ctx: Ctx) -> Response:
        body = await ctx.body()
        library = self.sim.libraries.get(ctx.item_id(str(body.get("Id") or "")))
        if library is None:
            raise SimError(404, "Library not found")
        options = body.get("LibraryOptions")
        if not isinstance(options, dict):
            raise SimError(400, "LibraryOptions is required")
        library.options = dict(options)
        self.sim.bump()
        return no_content()

    async def add_path(self, ctx: Ctx) -> Response:
        body = await ctx.body()
        library = self.sim.library_by_name(str(body.get("Name") or ""))
        path = body.get("Path") or (body.get("PathInfo") or {}).get("Path")
        if not path or not is_dir(str(path)):
            raise SimError(400, f"The path does not exist: {path}")
        if path not in library.locations:
            library.locations.append(str(path))
            library.options["PathInfos"] = [{"Path": p} for p in library.locations]
        self.sim.bump()
        return no_content()

    async def remove_path(self, ctx: Ctx) -> Response:
        library = self.sim.library_by_name(ctx.arg("name") or "")
        path = ctx.arg("path")
        if path not in library.locations:
            raise SimError(404, f"{path} is not a location of {library.name}")
        library.locations.remove(path)
        library.options["PathInfos"] = [{"Path": p} for p in library.locations]
        self.sim.bump()
        return no_content()

    async def refresh_all(self, ctx: Ctx) -> Response:
        self.sim.start_scan()
        return no_content()

    async def tasks(self, ctx: Ctx) -> Response:
        return json_response([ctx.dto.scan_task(), *ctx.dto.other_tasks()])

    async def task(self, ctx: Ctx) -> Response:
        for task in (ctx.dto.scan_task(), *ctx.dto.other_tasks()):
            if task["Id"] == ctx.params["taskId"].lower():
                return json_response(task)
        raise SimError(404, "Task not found")

    async def start_task(self, ctx: Ctx) -> Response:
        if ctx.params["taskId"].lower() == self.sim.scan_task.id:
            self.sim.start_scan()
            return no_content()
        if any(t["Id"] == ctx.params["taskId"].lower() for t in ctx.dto.other_tasks()):
            return no_content()
        raise SimError(404, "Task not found")

    # --- collections and playlists ------------------------------------------------------------------
    def _require_collection_rights(self, ctx: Ctx) -> None:
        caller = ctx.require_caller()
        if not caller.is_admin and not (caller.user and caller.user.policy.get("EnableCollectionManagement")):
            raise SimError(403, "Collection management is not allowed for this user")

    def _ids(self, ctx: Ctx, name: str = "ids") -> list[str]:
        return [ctx.item_id(i) for i in (ctx.arg(name) or "").split(",") if i.strip()]

    async def create_collection(self, ctx: Ctx) -> Response:
        self._require_collection_rights(ctx)
        name = ctx.arg("name")
        if not name:
            raise SimError(400, "name is required")
        collection = self.sim.create_collection(name, self._ids(ctx))
        return json_response({"Id": collection.id})

    async def collection_add(self, ctx: Ctx) -> Response:
        self._require_collection_rights(ctx)
        self.sim.add_to_collection(ctx.item_id(ctx.params["collectionId"]), self._ids(ctx))
        return no_content()

    async def collection_remove(self, ctx: Ctx) -> Response:
        self._require_collection_rights(ctx)
        self.sim.remove_from_collection(ctx.item_id(ctx.params["collectionId"]), self._ids(ctx))
        return no_content()

    async def create_playlist(self, ctx: Ctx) -> Response:
        if self.sim.flavor == "emby":
            return await self._create_emby_playlist(ctx)
        body = await ctx.body()
        body = body if isinstance(body, dict) else {}
        name = body.get("Name") or ctx.arg("name")
        if not name:
            raise SimError(400, "Name is required")
        ids = [ctx.item_id(str(i)) for i in body.get("Ids") or []] or self._ids(ctx)
        owner = ctx.user_for(body.get("UserId") or ctx.arg("userId"), required=True)
        assert owner is not None
        is_public = bool(body.get("IsPublic", True))
        playlist = self.sim.create_playlist(
            str(name), ids, owner, body.get("MediaType") or ctx.arg("mediaType"), is_public
        )
        return json_response({"Id": playlist.id})

    async def _create_emby_playlist(self, ctx: Ctx) -> Response:
        """Emby: ``Name``, ``Ids``, ``MediaType`` from the query; the owner is the caller's user. An API key has
        none: ``UserId`` (MediaBrowser's old parameter, still sent by Aperture) names one, else the first admin."""
        name = ctx.arg("name")
        if not name:
            raise SimError(400, "Name is required")
        caller = ctx.require_caller()
        owner = caller.user
        if ctx.arg("userId") and (owner is None or owner.is_admin):
            owner = self.sim.user(str(ctx.arg("userId")))
        if owner is None:
            owner = next(u for u in self.sim.users.values() if u.is_admin)
        ids = self._ids(ctx)
        playlist = self.sim.create_playlist(str(name), ids, owner, ctx.arg("mediaType"), True)
        added = len(self.sim.playlist_entries.get(playlist.id, []))
        return json_response({"Id": playlist.id, "Name": playlist.name, "ItemAddedCount": added})

    def _playlist(self, ctx: Ctx) -> SimItem:
        playlist = self.sim.item(ctx.item_id(ctx.params["playlistId"]))
        if playlist.type != "Playlist":
            raise SimError(404, "Playlist not found")
        caller = ctx.require_caller()
        if (
            caller.user is not None
            and not caller.is_admin
            and not playlist_sharing.visible_to(playlist, caller.user)
        ):
            raise SimError(403, "Access to this playlist is denied")
        return playlist

    async def playlist_items(self, ctx: Ctx) -> Response:
        playlist = self._playlist(ctx)
        user = ctx.user_for(ctx.arg("userId"))
        entries = [e for e in self.sim.playlist_entries.get(playlist.id, []) if e.item_id in self.sim.items]
        start, limit = paging(ctx)
        page = entries[start : start + limit] if limit is not None else entries[start:]
        fields = self._fields(ctx)
        items = [ctx.dto.item(self.sim.items[e.item_id], fields, user, playlist_item_id=e.entry_id) for e in page]
        result: dict[str, Any] = {"Items": items, "TotalRecordCount": len(entries)}
        if self.sim.flavor == "jellyfin":
            result["StartIndex"] = start
        return json_response(result)

    async def playlist_add(self, ctx: Ctx) -> Response:
        playlist = self._playlist(ctx)
        before = len(self.sim.playlist_entries.get(playlist.id, []))
        self.sim.add_to_playlist(playlist.id, self._ids(ctx))
        if self.sim.flavor == "emby":  # AddToPlaylistResult, per Emby's 4.9 SDK (its 4.8 answer: outside reports)
            added = len(self.sim.playlist_entries.get(playlist.id, [])) - before
            return json_response({"Id": playlist.id, "ItemAddedCount": added})
        return no_content()

    async def playlist_remove(self, ctx: Ctx) -> Response:
        playlist = self._playlist(ctx)
        self.sim.remove_from_playlist(playlist.id, [i for i in (ctx.arg("entryIds") or "").split(",") if i])
        return no_content()

    async def playlist_move(self, ctx: Ctx) -> Response:
        playlist = self._playlist(ctx)
        try:
            index = int(ctx.params["newIndex"])
        except ValueError as exc:
            raise SimError(400, "newIndex must be a number") from exc
        self.sim.move_playlist_item(playlist.id, ctx.item_id(ctx.params["itemId"]), index)
        return no_content()

    # --- media --------------------------------------------------------------------------------------
    async def image(self, ctx: Ctx) -> Response:
        item = self.sim.item(ctx.item_id(ctx.params["itemId"]))
        image_type = ctx.params["imageType"]
        if image_type.lower() not in ("primary", "backdrop", "thumb", "logo", "banner", "art"):
            raise SimError(404, f"No {image_type} image")
        custom = self.sim.custom_images.get((item.id, image_type.lower()))
        if custom is not None:
            return Response(custom[0], media_type=custom[1], headers={"Cache-Control": "public, max-age=31536000"})
        if image_type.lower() == "backdrop" and item.type not in BACKDROP_TYPES:
            raise SimError(404, "No Backdrop image")
        return Response(
            placeholder_png(item.id, image_type),
            media_type="image/png",
            headers={"Cache-Control": "public, max-age=31536000", "ETag": f'"{item.image_tag}"'},
        )

    async def stream(self, ctx: Ctx) -> Response:
        item = self.sim.item(ctx.item_id(ctx.params["itemId"]))
        if item.is_folder:
            raise SimError(400, "Folders cannot be streamed")
        if item.path and is_file(item.path) and not item.path.endswith(".strm"):
            return FileResponse(item.path, media_type="video/x-matroska")
        return Response(b"", media_type="video/x-matroska", headers={"Accept-Ranges": "bytes"})

    # --- simulator controls -------------------------------------------------------------------------
    async def sim_users(self, ctx: Ctx) -> Response:
        return json_response(
            [
                {"Id": u.id, "Name": u.name, "Password": u.password, "IsAdministrator": u.is_admin}
                for u in self.sim.users.values()
            ]
        )

    async def sim_playback(self, ctx: Ctx) -> Response:
        body = await ctx.body()
        if not isinstance(body, dict):
            raise SimError(400, "JSON object expected")
        user = self.sim.user(str(body.get("UserId") or body.get("UserName") or ""))
        item = self.sim.item(ctx.item_id(str(body.get("ItemId") or "")))
        position = body.get("PositionTicks")
        action = ctx.params["action"].lower()
        if action == "start":
            self.sim.play_start(user.id, item.id, int(position or 0), device=str(body.get("DeviceName") or "Firefox"))
        elif action == "progress":
            self.sim.play_progress(user.id, item.id, int(position or 0), paused=bool(body.get("IsPaused")))
        elif action == "stop":
            self.sim.play_stop(user.id, item.id, int(position) if position is not None else None)
        else:
            raise SimError(404, "Unknown playback action; use start, progress or stop")
        return json_response(ctx.dto.user_data(user, item))

    async def sim_played(self, ctx: Ctx) -> Response:
        user = self.sim.user(ctx.params["userId"])
        item = self.sim.item(ctx.item_id(ctx.params["itemId"]))
        data = self.sim.mark_played(user.id, item.id, ctx.request.method.upper() == "POST")
        return json_response(ctx.dto.user_data(user, item, data))

    async def sim_favorite(self, ctx: Ctx) -> Response:
        user = self.sim.user(ctx.params["userId"])
        item = self.sim.item(ctx.item_id(ctx.params["itemId"]))
        data = self.sim.set_favorite(user.id, item.id, ctx.request.method.upper() == "POST")
        return json_response(ctx.dto.user_data(user, item, data))

    async def sim_webhooks(self, ctx: Ctx) -> Response:
        return json_response(
            [{"Url": t.url, "ContentType": t.content_type, "Headers": t.headers} for t in self.sim.webhooks.targets]
        )

    async def sim_add_webhook(self, ctx: Ctx) -> Response:
        body = await ctx.body()
        if not isinstance(body, dict) or not body.get("Url"):
            raise SimError(400, "Url is required")
        content_type = body.get("ContentType")
        allowed = ("text/plain", "application/json", "multipart/form-data", "application/x-www-form-urlencoded")
        if content_type is not None and content_type not in allowed:
            raise SimError(400, f"ContentType must be one of {', '.join(allowed)}")
        self.sim.webhooks.add_target(str(body["Url"]), content_type, body.get("Headers") or {})
        return no_content()

    async def sim_clear_webhooks(self, ctx: Ctx) -> Response:
        self.sim.webhooks.clear_targets()
        return no_content()

    async def sim_webhooks_sent(self, ctx: Ctx) -> Response:
        return json_response(
            [{"Url": d.url, "Event": d.event, "Status": d.status, "Error": d.error} for d in self.sim.webhooks.sent]
        )

    async def sim_add_item(self, ctx: Ctx) -> Response:
        body = await ctx.body()
        if not isinstance(body, dict) or not body.get("title"):
            raise SimError(400, "A movies.jsonl record (with at least a title) or a series record is required")
        if str(body.get("type", "")).lower() in ("series", "tv show"):
            year = body.get("year")
            series = CatalogSeries(
                key=f"added:{secrets.token_hex(4)}",
                title=str(body["title"]),
                year=int(year) if year else None,
                genres=[str(g) for g in body.get("genres") or []],
                overview=body.get("overview"),
                episodes_per_season=[int(n) for n in body.get("episodes_per_season") or [6]],
                tvdb_id=str(body["tvdbId"]) if body.get("tvdbId") else None,
            )
            item = self.sim.add_series(series)
        else:
            item = self.sim.add_movie(movie_from_record(body, key=f"added:{secrets.token_hex(4)}"))
        return json_response(ctx.dto.item(item, None, None))

    async def sim_remove_item(self, ctx: Ctx) -> Response:
        self.sim.remove_item(ctx.item_id(ctx.params["itemId"]))
        return no_content()

    async def sim_add_fault(self, ctx: Ctx) -> Response:
        body = await ctx.body()
        self.sim.inject_fault(
            int(body.get("Status") or 500),
            int(body.get("Count") or 1),
            path_contains=body.get("PathContains"),
            method=body.get("Method"),
        )
        return no_content()

    async def sim_clear_faults(self, ctx: Ctx) -> Response:
        self.sim.faults.clear()
        return no_content()

    async def sim_legacy_auth(self, ctx: Ctx) -> Response:
        body = await ctx.body()
        self.sim.legacy_auth = bool(body.get("Enabled"))
        return no_content()


def paging(ctx: Ctx) -> tuple[int, int | None]:
    raw_start, raw_limit = ctx.arg("startIndex"), ctx.arg("limit")
    try:
        start = int(raw_start) if raw_start is not None else 0
        limit = int(raw_limit) if raw_limit is not None else None
    except ValueError as exc:
        raise SimError(400, "startIndex and limit must be integers") from exc
    if start < 0 or (limit is not None and limit < 0):
        raise SimError(400, "startIndex and limit must not be negative")
    return start, limit


def is_dir(path: str) -> bool:
    return os.path.isdir(path)


def is_file(path: str) -> bool:
    return os.path.isfile(path)


def net(value: datetime) -> str:
    from providers.simulator.webhooks import net_time

    return net_time(value)


def user_device(ctx: Ctx) -> str:
    caller = ctx.caller
    return caller.token.device_name if caller and caller.token.device_name else "Unknown device"


def parse_date_played(value: str | None) -> datetime | None:
    if not value:
        return None
    for parse in (lambda v: datetime.strptime(v, "%Y%m%d%H%M%S"), datetime.fromisoformat):
        try:
            parsed = parse(value)
        except ValueError:
            continue
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise SimError(400, f"datePlayed {value!r} is not a date")


def apply_item_update(item: SimItem, body: dict[str, Any]) -> None:
    """Jellyfin's ItemUpdateController: scalars overwritten (null wipes), lists only when given."""
    from providers.simulator.model import SimPerson

    def date(value: Any) -> datetime | None:
        if not value:
            return None
        parsed = datetime.fromisoformat(str(value))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

    item.name = str(body["Name"])
    item.forced_sort_name = body.get("ForcedSortName") or None
    item.original_title = body.get("OriginalTitle")
    item.critic_rating = body.get("CriticRating")
    item.community_rating = body.get("CommunityRating")
    item.index_number = body.get("IndexNumber")
    item.parent_index_number = body.get("ParentIndexNumber")
    item.overview = body.get("Overview")
    item.premiere_date = date(body.get("PremiereDate"))
    item.year = body.get("ProductionYear")
    item.official_rating = body.get("OfficialRating")
    item.lock_data = bool(body.get("LockData"))
    if item.type != "CollectionFolder":
        item.runtime_ticks = body.get("RunTimeTicks")
    if body.get("Genres") is not None:
        item.genres = [str(g) for g in body["Genres"]]
    if body.get("Tags") is not None:
        item.tags = [str(t) for t in body["Tags"]]
    if body.get("Studios") is not None:
        item.studios = [str(s["Name"]) if isinstance(s, dict) else str(s) for s in body["Studios"]]
    if body.get("People") is not None:
        item.people = [
            SimPerson(str(p.get("Name")), str(p.get("Type") or "Actor"), p.get("Role"))
            for p in body["People"]
            if isinstance(p, dict) and p.get("Name")
        ]
    if body.get("ProviderIds") is not None:
        item.provider_ids = {str(k): str(v) for k, v in body["ProviderIds"].items() if v}
    if body.get("Taglines") is not None:
        item.taglines = [str(t) for t in body["Taglines"]]
    if body.get("LockedFields") is not None:
        item.locked_fields = [str(f) for f in body["LockedFields"]]
    if item.type == "BoxSet" and "DisplayOrder" in body:
        item.display_order = body.get("DisplayOrder")
    item.touch_names()
    item.date_last_saved = utcnow()


def create_app(sim: Simulator) -> Starlette:
    """The ASGI app; its lifespan starts and stops the webhook sender."""
    handler = SimulatorApp(sim)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await sim.wait_scans()
        await sim.webhooks.drain()
        await sim.webhooks.aclose()

    methods = ["GET", "HEAD", "POST", "DELETE", "PUT"]
    return Starlette(
        routes=[Route("/{path:path}", handler.dispatch, methods=methods)],
        lifespan=lifespan,
    )
