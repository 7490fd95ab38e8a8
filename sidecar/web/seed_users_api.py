"""The seed's user paths: ``/api/users`` (admin), ``/api/users/{user_ref}`` and its stats, watch history, watch
stats and taste profiles (with regenerate), and ``PUT /api/users/{user_ref}`` (the user's own settings).

``{user_ref}`` is the caller's own id or ``me``; an administrator may name anyone (``sidecar.web.user_scope``).
Everything is read through the same read models as the pages (home's quick stats, history, watch stats,
taste) and written through the same actions as ``/settings`` and the taste page's "regenerate".
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from sidecar import runtime_settings as rs
from sidecar.media_types import MediaType
from sidecar.picks_store.taste import regenerate_taste_profile
from sidecar.web import actions
from sidecar.web.api_spec import Endpoint
from sidecar.web.auth import services_of
from sidecar.web.json_io import body_of, query_of
from sidecar.web.read_models import home as home_reads
from sidecar.web.read_models import taste as taste_reads
from sidecar.web.read_models import users as user_reads
from sidecar.web.read_models.history import history_page
from sidecar.web.read_models.watch_stats import load_watch_stats
from sidecar.web.schemas import UserSettingsIn
from sidecar.web.seed_api_models import (
    MediaTypeOnly,
    PageQuery,
    UserPage,
    UserStats,
    UserTasteProfile,
    UserWatchStats,
    UserWithLibraries,
    WatchHistory,
    WatchHistoryQuery,
    answer,
)
from sidecar.web.user_scope import USER_REF, UserRef, target_user


async def user_list(request: Request) -> Response:
    """Every user, as the media server says now (``note`` says why not when it could not be asked)."""
    q = query_of(request, PageQuery)
    rows, note = await user_reads.users_as_the_server_says(services_of(request))
    page = [user_reads.user_view(u) for u in rows[q.offset : q.offset + q.limit]]
    return answer(UserPage, {"items": page, "total": len(rows), "limit": q.limit, "offset": q.offset, "note": note})


async def _user_detail(request: Request, user_id: int) -> Response:
    services = services_of(request)
    async with services.sessions() as session:
        row = await user_reads.get_user(session, user_id)
        libraries = await user_reads.library_names(session, row, services.settings.library_name_prefix)
    return answer(UserWithLibraries, {**user_reads.user_view(row), "libraries": libraries})


async def user_detail(request: Request) -> Response:
    user_id = await target_user(request)
    return await _user_detail(request, user_id)


async def update_user(request: Request) -> Response:
    """The user's own settings (library names, explanations when the admin lets them choose), as
    ``/settings`` saves them; their libraries are rewritten when a name or the explanations changed."""
    user_id = await target_user(request)
    data = await body_of(request, UserSettingsIn)
    services = services_of(request)
    async with services.sessions() as session:
        explanations = await rs.load(session, rs.EXPLANATIONS)
        _, rewrite = await actions.update_user_settings(session, user_id, data, explanations)  # Forbidden: 403
    await actions.follow_up(services, user_id, rewrite)
    return await _user_detail(request, user_id)


async def user_stats(request: Request) -> Response:
    """The home page's quick stats: titles watched, episodes, favourites, hours and picks waiting."""
    user_id = await target_user(request)
    async with services_of(request).sessions() as session:
        stats = await home_reads.quick_stats(session, user_id)
    stats.pop("_picks")
    return answer(UserStats, {"user_id": user_id, **stats})


async def watch_history(request: Request) -> Response:
    """Watched titles (movies by default, ``?media_type=series``), last played first or ``sort=plays``."""
    user_id = await target_user(request)
    q = query_of(request, WatchHistoryQuery)
    async with services_of(request).sessions() as session:
        rows, total = await history_page(session, user_id, q.media_type, q.sort, limit=q.limit, offset=q.offset)
    body = {"items": rows, "total": total, "limit": q.limit, "offset": q.offset}
    return answer(WatchHistory, {**body, "user_id": user_id, "media_type": q.media_type, "sort": q.sort})


async def watch_stats(request: Request) -> Response:
    """The stats page's breakdowns: genres, monthly timeline, decades, ratings, people, studios."""
    user_id = await target_user(request)
    q = query_of(request, MediaTypeOnly)
    async with services_of(request).sessions() as session:
        stats = await load_watch_stats(session, user_id, q.media_type)
    return answer(UserWatchStats, {**stats, "user_id": user_id})


async def _taste_profile(request: Request, user_id: int, media_type: MediaType) -> Response:
    async with services_of(request).sessions() as session:
        profile = (await taste_reads.taste_profiles(session, user_id)).get(media_type)
    empty = {"text": None, "source": None, "facts": None, "updated_at": None}
    return answer(UserTasteProfile, {**(profile or empty), "user_id": user_id, "media_type": media_type})


async def _regenerate(request: Request, media_type: MediaType) -> Response:
    user_id = await target_user(request)
    if await regenerate_taste_profile(services_of(request), user_id, media_type) is None:
        raise HTTPException(409, "The profile is locked.")
    return await _taste_profile(request, user_id, media_type)


async def movie_taste_profile(request: Request) -> Response:
    user_id = await target_user(request)
    return await _taste_profile(request, user_id, MediaType.MOVIES)


async def series_taste_profile(request: Request) -> Response:
    user_id = await target_user(request)
    return await _taste_profile(request, user_id, MediaType.SERIES)


async def regenerate_movie_taste(request: Request) -> Response:
    return await _regenerate(request, MediaType.MOVIES)


async def regenerate_series_taste(request: Request) -> Response:
    return await _regenerate(request, MediaType.SERIES)


USER = f"/api/users/{{{USER_REF}}}"
PARAMS = {USER_REF: UserRef}

ENDPOINTS: list[Endpoint] = [
    Endpoint(
        "GET",
        "/api/users",
        user_list,
        "Every user (paged)",
        "users",
        access="admin",
        query=PageQuery,
        response=UserPage,
    ),
    Endpoint(
        "GET",
        USER,
        user_detail,
        "A user and their AI Picks libraries",
        "users",
        response=UserWithLibraries,
        params=PARAMS,
    ),
    Endpoint(
        "PUT",
        USER,
        update_user,
        "Change a user's own settings",
        "users",
        body=UserSettingsIn,
        response=UserWithLibraries,
        params=PARAMS,
    ),
    Endpoint("GET", f"{USER}/stats", user_stats, "A user's quick stats", "users", response=UserStats, params=PARAMS),
    Endpoint(
        "GET",
        f"{USER}/watch-history",
        watch_history,
        "What a user watched (paged)",
        "users",
        query=WatchHistoryQuery,
        response=WatchHistory,
        params=PARAMS,
    ),
    Endpoint(
        "GET",
        f"{USER}/watch-stats",
        watch_stats,
        "A user's watch stats with breakdowns",
        "users",
        query=MediaTypeOnly,
        response=UserWatchStats,
        params=PARAMS,
    ),
    Endpoint(
        "GET",
        f"{USER}/taste-profile",
        movie_taste_profile,
        "A user's movie taste synopsis",
        "users",
        response=UserTasteProfile,
        params=PARAMS,
    ),
    Endpoint(
        "POST",
        f"{USER}/taste-profile/regenerate",
        regenerate_movie_taste,
        "Rewrite a user's movie taste synopsis now",
        "users",
        response=UserTasteProfile,
        params=PARAMS,
    ),
    Endpoint(
        "GET",
        f"{USER}/series-taste-profile",
        series_taste_profile,
        "A user's series taste synopsis",
        "users",
        response=UserTasteProfile,
        params=PARAMS,
    ),
    Endpoint(
        "POST",
        f"{USER}/series-taste-profile/regenerate",
        regenerate_series_taste,
        "Rewrite a user's series taste synopsis now",
        "users",
        response=UserTasteProfile,
        params=PARAMS,
    ),
]
