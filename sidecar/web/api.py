"""The JSON API under ``/api/``: the same data as the pages, for scripts and other front ends.

Authentication is the login cookie (``POST /api/auth/login``), whose writes also need the ``X-CSRF-Token``
header (its value is in ``GET /api/me``), or an API token (``Authorization: Bearer``). Bodies are JSON
validated by pydantic models; a malformed request is a 4xx ``{"error": {"code", "message", "field"}}``.
A user only ever sees their own picks, stats and the channels they own or that were shared with them. The
admin routes (``/api/admin/``) are in ``sidecar.web.admin_api``.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from sidecar import runtime_settings as rs
from sidecar.channels import fill_channel
from sidecar.media_types import MediaType
from sidecar.picks_store.taste import regenerate_taste_profile
from sidecar.web import actions, auth, channel_actions
from sidecar.web import api_models as m
from sidecar.web.api_spec import Endpoint
from sidecar.web.auth import services_of, user_of
from sidecar.web.json_io import body_of, media_type_path, ok, path_int, query_of
from sidecar.web.login_limit import LoginFailed, client_address
from sidecar.web.read_models import channels as channel_reads
from sidecar.web.read_models import items as item_reads
from sidecar.web.read_models import picks as pick_reads
from sidecar.web.read_models import taste as taste_reads
from sidecar.web.read_models import top_picks as top_pick_reads
from sidecar.web.read_models import users as user_reads
from sidecar.web.read_models.history import load_history
from sidecar.web.read_models.watch_stats import load_watch_stats
from sidecar.web.schemas import (
    BrowseQuery,
    ChannelIn,
    HistoryQuery,
    LimitQuery,
    LoginIn,
    MediaTypeQuery,
    UserSettingsIn,
)

# --- auth ------------------------------------------------------------------------------------------


async def login(request: Request) -> Response:
    data = await body_of(request, LoginIn)
    services = services_of(request)
    try:
        user, session_id = await auth.login(services, data.name, data.password, client_address(request))
    except LoginFailed as exc:
        raise HTTPException(exc.status_code, str(exc), headers=exc.headers) from exc
    response = ok(
        {"user": {"id": user.id, "name": user.name, "is_admin": user.is_admin}, "csrf_token": user.csrf_token}
    )
    auth.set_session_cookie(request, response, services.settings, session_id)
    return response


async def logout(request: Request) -> Response:
    await auth.logout(request)
    response = ok({"logged_out": True})
    auth.clear_session_cookie(response)
    return response


async def me(request: Request) -> Response:
    user = await user_of(request)
    async with services_of(request).sessions() as session:
        row = await user_reads.get_user(session, user.id)
    return ok({**user_reads.user_view(row), "csrf_token": user.csrf_token})


async def me_settings(request: Request) -> Response:
    user = await user_of(request)
    data = await body_of(request, UserSettingsIn)
    services = services_of(request)
    async with services.sessions() as session:
        explanations = await rs.load(session, rs.EXPLANATIONS)
        # Forbidden (403) when the admin has not let this user choose explanations
        row, rewrite = await actions.update_user_settings(session, user.id, data, explanations)
    await actions.follow_up(services, user.id, rewrite)
    return ok(user_reads.user_view(row))


# --- the user's data -------------------------------------------------------------------------------


async def picks(request: Request) -> Response:
    user = await user_of(request)
    q = query_of(request, MediaTypeQuery)
    async with services_of(request).sessions() as session:
        return ok(await pick_reads.picks(session, user.id, q.media_type))


async def items(request: Request) -> Response:
    q = query_of(request, BrowseQuery)
    async with services_of(request).sessions() as session:
        return ok(
            await item_reads.browse(
                session, q.media_type, q=q.q or None, genre=q.genre or None, page=q.page, per_page=q.per_page
            )
        )


async def item(request: Request) -> Response:
    user = await user_of(request)
    async with services_of(request).sessions() as session:
        row = await item_reads.get_item(session, path_int(request, "item_id"))
        pick = await pick_reads.pick_for_item(session, user.id, row)
    return ok({"item": item_reads.item_detail(row), "pick": pick})


async def similar(request: Request) -> Response:
    q = query_of(request, LimitQuery)
    services = services_of(request)
    async with services.sessions() as session:
        row = await item_reads.get_item(session, path_int(request, "item_id"))
    items = await item_reads.similar_items(services, row, q.limit)
    return ok({"item_id": row.id, "similar": items})


async def watch_stats(request: Request) -> Response:
    user = await user_of(request)
    q = query_of(request, MediaTypeQuery)
    async with services_of(request).sessions() as session:
        return ok(await load_watch_stats(session, user.id, q.media_type))


async def history(request: Request) -> Response:
    user = await user_of(request)
    q = query_of(request, HistoryQuery)
    async with services_of(request).sessions() as session:
        rows = await load_history(session, user.id, q.media_type, q.sort, q.limit)
    return ok({"media_type": q.media_type, "sort": q.sort, "history": rows})


async def taste(request: Request) -> Response:
    user = await user_of(request)
    async with services_of(request).sessions() as session:
        return ok({"profiles": await taste_reads.taste_profiles(session, user.id)})


async def taste_regenerate(request: Request) -> Response:
    user = await user_of(request)
    media_type = media_type_path(request)
    written = await regenerate_taste_profile(services_of(request), user.id, media_type)
    if written is None:
        raise HTTPException(409, "The profile is locked.")
    async with services_of(request).sessions() as session:
        return ok((await taste_reads.taste_profiles(session, user.id))[media_type])


async def top_picks(request: Request) -> Response:
    q = query_of(request, MediaTypeQuery)
    async with services_of(request).sessions() as session:
        return ok({"media_type": q.media_type, "top_picks": await top_pick_reads.top_picks(session, q.media_type)})


# --- channels --------------------------------------------------------------------------------------


async def channels(request: Request) -> Response:
    user = await user_of(request)
    async with services_of(request).sessions() as session:
        if request.method == "GET":
            return ok({"channels": await channel_reads.channels_for(session, user.id)})
        data = await body_of(request, ChannelIn)
        channel = await actions.create_channel(session, user.id, data)  # InvalidInput (422): unknown refs
        return ok(await channel_reads.channel_view(session, channel, user.id, full=True), 201)


async def channel(request: Request) -> Response:
    user = await user_of(request)
    channel_id = path_int(request, "channel_id")
    if request.method == "DELETE":
        await channel_actions.delete(services_of(request), channel_id, user.id)  # and its playlist
        return Response(status_code=204)
    async with services_of(request).sessions() as session:
        if request.method == "GET":
            row = await channel_reads.channel_visible(session, channel_id, user.id)
            return ok(await channel_reads.channel_view(session, row, user.id, full=True))
        await actions.owned_channel(session, channel_id, user.id)
        data = await body_of(request, ChannelIn)
        row = await actions.update_channel(session, channel_id, user.id, data)
        return ok(await channel_reads.channel_view(session, row, user.id, full=True))


async def channel_fill(request: Request) -> Response:
    user = await user_of(request)
    channel_id = path_int(request, "channel_id")
    async with services_of(request).sessions() as session:
        await actions.owned_channel(session, channel_id, user.id)
    await fill_channel(services_of(request), channel_id)
    async with services_of(request).sessions() as session:
        row = await channel_reads.channel_visible(session, channel_id, user.id)
        return ok(await channel_reads.channel_view(session, row, user.id, full=True))


async def channel_generate(request: Request) -> Response:
    user = await user_of(request)
    channel_id = path_int(request, "channel_id")
    proposal = await channel_actions.generate(services_of(request), channel_id, user.id)
    async with services_of(request).sessions() as session:
        row = await channel_reads.channel_visible(session, channel_id, user.id)
        view = await channel_reads.channel_view(session, row, user.id, full=True)
    return ok({**view, "proposal": proposal.as_dict()})


async def channel_sync(request: Request) -> Response:
    """POST: sync the channel to its playlist on the media server (and keep it synced); DELETE: remove it."""
    user = await user_of(request)
    channel_id = path_int(request, "channel_id")
    services = services_of(request)
    if request.method == "DELETE":
        await channel_actions.unsync(services, channel_id, user.id)
        result: dict[str, object] | None = None
    else:
        result = (await channel_actions.sync(services, channel_id, user.id)).as_dict()
    async with services.sessions() as session:
        row = await channel_reads.channel_visible(session, channel_id, user.id)
        view = await channel_reads.channel_view(session, row, user.id, full=False)
    view["sync"]["playlist_url"] = await channel_actions.playlist_link(services, view)
    return ok({**view, "result": result})


ENDPOINTS: list[Endpoint] = [
    Endpoint(
        "POST",
        "/api/auth/login",
        login,
        "Log in with the media server's credentials (sets the cookie)",
        "auth",
        access="public",
        body=LoginIn,
        response=m.LoginOut,
    ),
    Endpoint("POST", "/api/auth/logout", logout, "Log out (ends the cookie's session)", "auth", response=m.LoggedOut),
    Endpoint("GET", "/api/me", me, "The caller, with the CSRF token for cookie writes", "auth", response=m.Me),
    Endpoint(
        "PUT",
        "/api/me/settings",
        me_settings,
        "Change the caller's library names and explanations choice",
        "auth",
        body=UserSettingsIn,
        response=m.UserView,
    ),
    Endpoint(
        "GET",
        "/api/picks",
        picks,
        "The caller's picks, best first, with why",
        "picks",
        query=MediaTypeQuery,
        response=m.Picks,
    ),
    Endpoint(
        "GET",
        "/api/items",
        items,
        "Browse the catalogue (search, genre, paged)",
        "catalogue",
        query=BrowseQuery,
        response=m.Browse,
    ),
    Endpoint(
        "GET",
        "/api/items/{item_id:id}",
        item,
        "One title, with the caller's pick for it",
        "catalogue",
        response=m.ItemWithPick,
    ),
    Endpoint(
        "GET",
        "/api/items/{item_id:id}/similar",
        similar,
        "Titles like this one",
        "catalogue",
        query=LimitQuery,
        response=m.SimilarItems,
    ),
    Endpoint(
        "GET",
        "/api/stats",
        watch_stats,
        "The caller's watch stats",
        "picks",
        query=MediaTypeQuery,
        response=m.WatchStats,
    ),
    Endpoint(
        "GET", "/api/history", history, "The caller's watch history", "picks", query=HistoryQuery, response=m.History
    ),
    Endpoint("GET", "/api/taste", taste, "The caller's taste profiles", "picks", response=m.TasteProfiles),
    Endpoint(
        "POST",
        "/api/taste/{media_type}/regenerate",
        taste_regenerate,
        "Rewrite the caller's taste profile",
        "picks",
        response=m.TasteProfile,
        params={"media_type": MediaType},
    ),
    Endpoint(
        "GET",
        "/api/top-picks",
        top_picks,
        "What the server watches most now",
        "picks",
        query=MediaTypeQuery,
        response=m.TopPicks,
    ),
    Endpoint(
        "GET",
        "/api/channels",
        channels,
        "The caller's channels and those shared with them",
        "channels",
        response=m.Channels,
    ),
    Endpoint(
        "POST",
        "/api/channels",
        channels,
        "Create a channel",
        "channels",
        body=ChannelIn,
        response=m.Channel,
        status=201,
    ),
    Endpoint("GET", "/api/channels/{channel_id:id}", channel, "One channel", "channels", response=m.Channel),
    Endpoint(
        "PUT",
        "/api/channels/{channel_id:id}",
        channel,
        "Change a channel (its owner)",
        "channels",
        body=ChannelIn,
        response=m.Channel,
    ),
    Endpoint(
        "DELETE",
        "/api/channels/{channel_id:id}",
        channel,
        "Delete a channel and its playlist (its owner)",
        "channels",
        status=204,
    ),
    Endpoint(
        "POST",
        "/api/channels/{channel_id:id}/fill",
        channel_fill,
        "Refill a channel now",
        "channels",
        response=m.Channel,
    ),
    Endpoint(
        "POST",
        "/api/channels/{channel_id:id}/generate",
        channel_generate,
        "Propose a name and description from the channel's titles",
        "channels",
        response=m.GeneratedChannel,
    ),
    Endpoint(
        "POST",
        "/api/channels/{channel_id:id}/sync",
        channel_sync,
        "Sync the channel to a playlist on the media server (and keep it synced)",
        "channels",
        response=m.SyncedChannel,
    ),
    Endpoint(
        "DELETE",
        "/api/channels/{channel_id:id}/sync",
        channel_sync,
        "Stop syncing and remove the playlist",
        "channels",
        response=m.SyncedChannel,
    ),
]
