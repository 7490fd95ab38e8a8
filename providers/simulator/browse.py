"""Browsing by name and by library: ``/Genres``, ``/Studios`` (QueryResults of Genre and Studio items) and
``/Library/MediaFolders`` (the libraries as CollectionFolder items)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.responses import Response

if TYPE_CHECKING:
    from providers.simulator.app import Ctx, SimulatorApp


def routes(app: SimulatorApp) -> None:
    app.add("GET", "/Genres", "user", genres)
    app.add("GET", "/Studios", "user", studios)
    app.add("GET", "/Library/MediaFolders", "admin", media_folders)


def _names(ctx: Ctx, attribute: str) -> list[str]:
    user = ctx.user_for(ctx.arg("userId"))
    visible = ctx.engine.visible_libraries(user)
    parent = ctx.item_id(ctx.arg("parentId") or "") or None
    types = {t.strip().lower() for t in (ctx.arg("includeItemTypes") or "").split(",") if t.strip()}
    search = (ctx.arg("searchTerm") or "").lower()
    names: dict[str, str] = {}
    for item in ctx.sim.items.values():
        if item.type not in ("Movie", "Series") or (types and item.type.lower() not in types):
            continue
        if item.library_id is None or item.library_id not in visible or (parent and item.library_id != parent):
            continue
        for name in getattr(item, attribute):
            if search in name.lower():
                names.setdefault(name.lower(), name)
    return sorted(names.values(), key=str.lower)


def _by_name(ctx: Ctx, kind: str, names: list[str]) -> Response:
    from providers.simulator.app import json_response, paging
    from providers.simulator.dto import name_id

    start, limit = paging(ctx)
    page = names[start : start + limit] if limit is not None else names[start:]
    emby = ctx.sim.flavor == "emby"
    items = []
    for name in page:
        dto: dict[str, Any] = {
            "Name": name,
            "ServerId": ctx.sim.server_id,
            "Id": str(name_id(emby, kind.lower(), name)),
            "Type": kind,
            "IsFolder": True,
            "ImageTags": {},
            "BackdropImageTags": [],
            "LocationType": "FileSystem",
        }
        if not emby:
            dto["MediaType"] = "Unknown"
        items.append(dto)
    result: dict[str, Any] = {"Items": items, "TotalRecordCount": len(names)}
    if not emby:
        result["StartIndex"] = start
    return json_response(result)


async def genres(ctx: Ctx) -> Response:
    return _by_name(ctx, "Genre", _names(ctx, "genres"))


async def studios(ctx: Ctx) -> Response:
    return _by_name(ctx, "Studio", _names(ctx, "studios"))


async def media_folders(ctx: Ctx) -> Response:
    from providers.simulator.app import json_response

    folders = [ctx.sim.items[lib] for lib in ctx.sim.libraries if lib in ctx.sim.items]
    result: dict[str, Any] = {
        "Items": [ctx.dto.item(f, None, None) for f in folders],
        "TotalRecordCount": len(folders),
    }
    if ctx.sim.flavor == "jellyfin":
        result["StartIndex"] = 0
    return json_response(result)
