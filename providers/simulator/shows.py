"""TV and "latest" browsing: ``/Shows/{seriesId}/Seasons``, ``/Shows/{seriesId}/Episodes``,
``/Users/{userId}/Items/Latest`` (and Jellyfin's ``/Items/Latest?userId=``).

Seasons and episodes are QueryResults in season and episode order; ``Latest`` is a bare array, newest first,
with new episodes grouped into their series (``GroupItems``, default true) as both servers do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from providers.simulator.state import SimError

if TYPE_CHECKING:
    from providers.simulator.app import Ctx, SimulatorApp
    from providers.simulator.model import SimItem, SimUser


def routes(app: SimulatorApp) -> None:
    app.add("GET", "/Shows/{seriesId}/Seasons", "user", seasons)
    app.add("GET", "/Shows/{seriesId}/Episodes", "user", episodes)
    app.add("GET", "/Users/{userId}/Items/Latest", "user", latest)
    app.add("GET", "/Items/Latest", "user", latest, "jellyfin")


def _series(ctx: Ctx) -> tuple[SimItem, SimUser | None]:
    user = ctx.user_for(ctx.params.get("userId") or ctx.arg("userId"))
    series = ctx.sim.item(ctx.item_id(ctx.params["seriesId"]))
    if series.type != "Series":
        raise SimError(404, "Series not found")
    if user is not None and series.library_id and series.library_id not in ctx.engine.visible_libraries(user):
        raise SimError(404, "Series not found")
    return series, user


def _fields(ctx: Ctx) -> set[str]:
    return {f.strip().lower() for f in (ctx.arg("fields") or "").split(",") if f.strip()}


def _result(ctx: Ctx, items: list[SimItem], user: SimUser | None) -> Response:
    from providers.simulator.app import json_response, paging

    start, limit = paging(ctx)
    page = items[start : start + limit] if limit is not None else items[start:]
    with_user = user if (ctx.arg("enableUserData") or "true").lower() != "false" else None
    result: dict[str, Any] = {
        "Items": [ctx.dto.item(i, _fields(ctx), with_user) for i in page],
        "TotalRecordCount": len(items),
    }
    if ctx.sim.flavor == "jellyfin":
        result["StartIndex"] = start
    return json_response(result)


async def seasons(ctx: Ctx) -> Response:
    series, user = _series(ctx)
    found = [ctx.sim.items[i] for i in series.children if i in ctx.sim.items]
    found.sort(key=lambda s: s.index_number or 0)
    return _result(ctx, found, user)


async def episodes(ctx: Ctx) -> Response:
    series, user = _series(ctx)
    found = ctx.sim.descendants(series, {"Episode"})
    season_id, season_number = ctx.arg("seasonId"), ctx.arg("season")
    if season_id:
        found = [e for e in found if e.season_id == ctx.item_id(season_id)]
    if season_number:
        try:
            number = int(season_number)
        except ValueError as exc:
            raise SimError(400, "season must be a number") from exc
        found = [e for e in found if e.parent_index_number == number]
    found.sort(key=lambda e: (e.parent_index_number or 0, e.index_number or 0))
    return _result(ctx, found, user)


async def latest(ctx: Ctx) -> Response:
    from providers.simulator.app import json_response

    user = ctx.user_for(ctx.params.get("userId") or ctx.arg("userId"), required=True)
    assert user is not None
    visible = ctx.engine.visible_libraries(user)
    parent = ctx.item_id(ctx.arg("parentId") or "") or None
    types = {t.strip().lower() for t in (ctx.arg("includeItemTypes") or "").split(",") if t.strip()}
    group = (ctx.arg("groupItems") or "true").lower() != "false"
    newest: dict[str, SimItem] = {}
    for item in ctx.sim.items.values():
        if item.type not in ("Movie", "Episode") or item.source_id is not None:
            continue
        if item.library_id is None or item.library_id not in visible or (parent and item.library_id != parent):
            continue
        shown = ctx.sim.items.get(item.series_id or "") if group and item.type == "Episode" else item
        if shown is None or (types and shown.type.lower() not in types and item.type.lower() not in types):
            continue
        if shown.id not in newest or newest[shown.id].date_created < item.date_created:
            newest[shown.id] = item
    try:
        limit = int(ctx.arg("limit") or 20)
    except ValueError as exc:
        raise SimError(400, "limit must be a number") from exc
    ordered = sorted(newest, key=lambda i: newest[i].date_created, reverse=True)[:limit]
    with_user = user if (ctx.arg("enableUserData") or "true").lower() != "false" else None
    return json_response([ctx.dto.item(ctx.sim.items[i], _fields(ctx), with_user) for i in ordered])
