"""The user's pages: login, picks, titles, taste, stats, Top Picks and settings (the channel pages are in
``channel_pages`` and the admin's pages in ``admin_ui``; ``routes`` serves all three).

Every form POST is checked for its CSRF token (``auth.checked_form``) and answers with a redirect
(POST/redirect/GET) or the same page re-rendered with the problem named.
"""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sidecar import runtime_settings as rs
from sidecar.db.models import MediaServer as MediaServerRow
from sidecar.errors import Forbidden, InvalidInput
from sidecar.media_types import MEDIA_TYPES, MediaType, spec
from sidecar.picks_store.taste import regenerate_taste_profile
from sidecar.web import actions, admin_ui, auth, channel_pages
from sidecar.web.auth import require_user, services_of, user_of
from sidecar.web.form_errors import page_errors
from sidecar.web.login_limit import LoginFailed, client_address
from sidecar.web.read_models import items as item_reads
from sidecar.web.read_models import picks as pick_reads
from sidecar.web.read_models import taste as taste_reads
from sidecar.web.read_models import top_picks as top_pick_reads
from sidecar.web.read_models import users as user_reads
from sidecar.web.read_models.history import load_history
from sidecar.web.read_models.play_links import play_link_for, play_links
from sidecar.web.read_models.watch_stats import load_comparison, load_watch_stats
from sidecar.web.rendering import media_type_param, path_int, render, see_other
from sidecar.web.schemas import BrowseQuery, LoginIn, UserSettingsIn, parse

log = logging.getLogger(__name__)


# --- login -----------------------------------------------------------------------------------------


async def _login_page(
    request: Request, *, error: str | None = None, status: int = 200, name: str = "", next_target: str | None = None
) -> Response:
    """``next_target``: the page asked for, kept through a failed attempt (the form posts it, not the URL)."""
    seed, fresh = auth.prelogin_seed(request)
    next_url = auth.safe_next(next_target if next_target is not None else request.query_params.get("next"))
    response = await render(
        request,
        "login.html",
        {
            "login_csrf": auth.csrf_token_for(services_of(request).settings, seed),
            "error": error,
            "name": name,
            "next": next_url,
            "configured": services_of(request).media_server is not None,
        },
        status,
    )
    if fresh:
        auth.set_prelogin_cookie(request, response, seed)
    return response


async def login_page(request: Request) -> Response:
    if await auth.current_user(request) is not None:
        return see_other(auth.safe_next(request.query_params.get("next")))
    return await _login_page(request)


async def login_submit(request: Request) -> Response:
    form = await auth.checked_form(request)
    name = str(form.get("name") or "")
    wanted = str(form.get("next") or "")
    try:
        data = parse(LoginIn, {"name": name, "password": str(form.get("password") or "")})
    except InvalidInput as exc:
        return await _login_page(request, error=str(exc), status=400, name=name, next_target=wanted)
    services = services_of(request)
    try:
        _user, session_id = await auth.login(services, data.name, data.password, client_address(request))
    except LoginFailed as exc:
        page = await _login_page(request, error=str(exc), status=exc.status_code, name=name, next_target=wanted)
        page.headers.update(exc.headers)
        return page
    response = see_other(auth.safe_next(wanted))
    auth.set_session_cookie(request, response, services.settings, session_id)
    response.delete_cookie(auth.PRELOGIN_COOKIE, path="/")
    return response


async def logout_submit(request: Request) -> Response:
    await auth.checked_form(request)
    await auth.logout(request)
    response = see_other("/login")
    auth.clear_session_cookie(response)
    return response


# --- the user's pages ------------------------------------------------------------------------------


@require_user
async def picks_page(request: Request) -> Response:
    user = await user_of(request)
    media_type = media_type_param(request)
    async with services_of(request).sessions() as session:
        data = await pick_reads.picks(session, user.id, media_type)
        await (await play_links(session, services_of(request).settings)).attach(session, data["picks"])
        me = await user_reads.get_user(session, user.id)
        shown = rs.effective_explanations(await rs.load(session, rs.EXPLANATIONS), me)
    enabled = getattr(me, spec(media_type).user_flag)
    return await render(
        request, "picks.html", {**data, "enabled": enabled, "show_explanations": shown, "page": "picks"}
    )


@require_user
async def browse_page(request: Request) -> Response:
    params = {k: v for k, v in request.query_params.items() if k in BrowseQuery.model_fields and v != ""}
    try:
        query = parse(BrowseQuery, params)
    except InvalidInput as exc:
        raise HTTPException(400, str(exc)) from exc
    async with services_of(request).sessions() as session:
        data = await item_reads.browse(
            session, query.media_type, q=query.q, genre=query.genre, page=query.page, per_page=query.per_page
        )
        genres = await item_reads.genres(session, query.media_type)
    context = {"result": data, "q": query.q or "", "genre": query.genre or "", "genres": genres, "page": "browse"}
    return await render(request, "browse.html", context)


@require_user
async def item_page(request: Request) -> Response:
    user = await user_of(request)
    services = services_of(request)
    async with services.sessions() as session:
        item = await item_reads.get_item(session, path_int(request, "item_id"))
        pick = await pick_reads.pick_for_item(session, user.id, item)
        server = await session.get(MediaServerRow, item.server_id)
        me = await user_reads.get_user(session, user.id)
        shown = rs.effective_explanations(await rs.load(session, rs.EXPLANATIONS), me)
    similar = await item_reads.similar_items(services, item, 12)
    return await render(
        request,
        "item.html",
        {
            "item": item_reads.item_detail(item),
            "pick": pick,
            "show_explanations": shown,
            "similar": similar,
            "play_url": play_link_for(services.settings, server, item.provider_id),
        },
    )


async def _taste_page(request: Request, *, notice: str | None = None, status: int = 200) -> Response:
    user = await user_of(request)
    async with services_of(request).sessions() as session:
        profiles = await taste_reads.taste_profiles(session, user.id)
    return await render(
        request,
        "taste.html",
        {"profiles": profiles, "media_types": MEDIA_TYPES, "notice": notice, "page": "taste"},
        status,
    )


@require_user
async def taste_page(request: Request) -> Response:
    return await _taste_page(request)


@require_user
async def taste_regenerate(request: Request) -> Response:
    user = await user_of(request)
    form = await auth.checked_form(request)
    media_type = str(form.get("media_type") or "")
    if media_type not in MEDIA_TYPES:
        raise HTTPException(400, "media_type is 'movies' or 'series'")
    written = await regenerate_taste_profile(services_of(request), user.id, MediaType(media_type))
    if written is None:
        return await _taste_page(request, notice="That profile is locked, so it was kept as it is.", status=409)
    return see_other(f"/#taste-{media_type}" if form.get("back") == "home" else f"/taste#{media_type}")


@require_user
async def stats_page(request: Request) -> Response:
    user = await user_of(request)
    media_type = media_type_param(request)
    async with services_of(request).sessions() as session:
        data = await load_watch_stats(session, user.id, media_type)
        comparison = await load_comparison(session, user.id)
    context = {"stats": data, "comparison": comparison, "media_type": media_type, "page": "stats"}
    return await render(request, "stats.html", context)


@require_user
async def history_page(request: Request) -> Response:
    user = await user_of(request)
    media_type = media_type_param(request)
    sort = request.query_params.get("sort", "recent")
    if sort not in ("recent", "plays"):
        raise HTTPException(400, "sort is 'recent' or 'plays'")
    async with services_of(request).sessions() as session:
        rows = await load_history(session, user.id, media_type, sort, 500)  # type: ignore[arg-type]
        await (await play_links(session, services_of(request).settings)).attach(session, rows)
    return await render(
        request, "history.html", {"rows": rows, "media_type": media_type, "sort": sort, "page": "history"}
    )


@require_user
async def top_picks_page(request: Request) -> Response:
    async with services_of(request).sessions() as session:
        lists = {mt: await top_pick_reads.top_picks(session, mt) for mt in MEDIA_TYPES}
        links = await play_links(session, services_of(request).settings)
        for rows in lists.values():
            await links.attach(session, rows)
    return await render(request, "top_picks.html", {"lists": lists, "page": "top-picks"})


# --- the user's settings ---------------------------------------------------------------------------


SETTINGS_LABELS = {"movies_library_name": "Movies library", "series_library_name": "Series library"}


async def _settings_page(
    request: Request,
    *,
    error: InvalidInput | Forbidden | None = None,
    typed: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    user = await user_of(request)
    services = services_of(request)
    async with services.sessions() as session:
        me = await user_reads.get_user(session, user.id)
        explanations = await rs.load(session, rs.EXPLANATIONS)
    summary, field_errors = page_errors(error, SETTINGS_LABELS) if isinstance(error, InvalidInput) else (None, {})
    return await render(
        request,
        "settings.html",
        {
            "me": user_reads.user_view(me),
            "typed": typed or {},
            "field_errors": field_errors,
            "may_choose": rs.may_choose_explanations(explanations, me),
            "shown": rs.effective_explanations(explanations, me),
            "explanations": explanations,
            "prefix": services.settings.library_name_prefix,
            "error": summary or (str(error) if error else None),
            "saved": request.query_params.get("saved") == "1",
            "republishing": request.query_params.get("republishing") == "1",
            "page": "settings",
        },
        status,
    )


@require_user
async def settings_page(request: Request) -> Response:
    return await _settings_page(request)


@require_user
async def settings_submit(request: Request) -> Response:
    user = await user_of(request)
    form = await auth.checked_form(request)
    choice = str(form.get("show_explanations") or "")
    typed = {name: str(form.get(name) or "") for name in ("movies_library_name", "series_library_name")}
    services = services_of(request)
    async with services.sessions() as session:
        explanations = await rs.load(session, rs.EXPLANATIONS)
        try:
            data = parse(UserSettingsIn, {**typed, "show_explanations": {"on": True, "off": False}.get(choice)})
            _row, rewrite = await actions.update_user_settings(session, user.id, data, explanations)
        except (InvalidInput, Forbidden) as exc:
            return await _settings_page(request, error=exc, typed=typed, status=400)
    await actions.follow_up(services, user.id, rewrite)
    return see_other("/settings?saved=1" + ("&republishing=1" if rewrite else ""))


def routes() -> list[BaseRoute]:
    return [
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login_submit, methods=["POST"]),
        Route("/logout", logout_submit, methods=["POST"]),
        Route("/picks", picks_page),
        Route("/browse", browse_page),
        Route("/items/{item_id:id}", item_page),
        Route("/taste", taste_page),
        Route("/taste/regenerate", taste_regenerate, methods=["POST"]),
        Route("/stats", stats_page),
        Route("/history", history_page),
        Route("/top-picks", top_picks_page),
        *channel_pages.routes(),
        Route("/settings", settings_page, methods=["GET"]),
        Route("/settings", settings_submit, methods=["POST"]),
        *admin_ui.routes(),
    ]
