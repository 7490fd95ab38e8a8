"""Jellyfin 10.9+ playlist sharing: ``GET|POST /Playlists/{playlistId}`` (a ``PlaylistDto`` with ``OpenAccess``,
``Shares`` and ``ItemIds``; an ``UpdatePlaylistDto`` with ``Name``, ``Ids``, ``Users``, ``IsPublic``, null fields kept)
and ``GET /Playlists/{playlistId}/Users``. A playlist is visible to its owner, to the users it is shared with and,
when public (``OpenAccess``), to everyone (``visible_to``). Emby documents none of these routes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.responses import Response

from providers.simulator.state import SimError

if TYPE_CHECKING:
    from providers.simulator.app import Ctx, SimulatorApp
    from providers.simulator.model import SimItem, SimUser


def routes(app: SimulatorApp) -> None:
    app.add("GET", "/Playlists/{playlistId}", "user", get_playlist, "jellyfin")
    app.add("POST", "/Playlists/{playlistId}", "user", update_playlist, "jellyfin")
    app.add("GET", "/Playlists/{playlistId}/Users", "user", playlist_users, "jellyfin")


def visible_to(playlist: SimItem, user: SimUser) -> bool:
    return playlist.is_public or playlist.owner_id == user.id or user.id in playlist.shares


def _playlist(ctx: Ctx, *, edit: bool = False) -> SimItem:
    playlist = ctx.sim.item(ctx.item_id(ctx.params["playlistId"]))
    if playlist.type != "Playlist":
        raise SimError(404, "Playlist not found")
    caller = ctx.require_caller()
    if caller.user is not None and not caller.is_admin:
        if edit and playlist.owner_id != caller.user.id and not playlist.shares.get(caller.user.id):
            raise SimError(403, "Access to this playlist is denied")
        if not visible_to(playlist, caller.user):
            raise SimError(404, "Playlist not found")
    return playlist


def _shares(playlist: SimItem) -> list[dict[str, object]]:
    return [{"UserId": user_id, "CanEdit": can_edit} for user_id, can_edit in playlist.shares.items()]


async def get_playlist(ctx: Ctx) -> Response:
    from providers.simulator.app import json_response

    playlist = _playlist(ctx)
    entries = ctx.sim.playlist_entries.get(playlist.id, [])
    return json_response(
        {"OpenAccess": playlist.is_public, "Shares": _shares(playlist), "ItemIds": [e.item_id for e in entries]}
    )


async def update_playlist(ctx: Ctx) -> Response:
    from providers.simulator.app import no_content

    playlist = _playlist(ctx, edit=True)
    body = await ctx.body()
    if not isinstance(body, dict):
        raise SimError(400, "The body must be an UpdatePlaylistDto object")
    if body.get("Name") is not None:
        playlist.name = str(body.get("Name"))
    if body.get("IsPublic") is not None:
        playlist.is_public = bool(body.get("IsPublic"))
    users = body.get("Users")
    if users is not None:
        if not isinstance(users, list):
            raise SimError(400, "Users must be a list")
        shares: dict[str, bool] = {}
        for share in users:
            user = ctx.sim.user(str(share.get("UserId") or share.get("userId") or ""))  # 404 for unknown users
            shares[user.id] = bool(share.get("CanEdit") or share.get("canEdit"))
        playlist.shares = shares
    ids = body.get("Ids")
    if ids is not None:
        ctx.sim.playlist_entries[playlist.id] = []
        ctx.sim.add_to_playlist(playlist.id, [ctx.item_id(str(i)) for i in ids])
    return no_content()


async def playlist_users(ctx: Ctx) -> Response:
    from providers.simulator.app import json_response

    return json_response(_shares(_playlist(ctx)))
