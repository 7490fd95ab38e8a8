"""Where Emby 4.9 differs from 4.8: ``GET /Users`` is refused (403, as users of other tools report with an
admin key; the 4.9 SDK only has ``GET /Users/Query``), and users and libraries come as QueryResults from
``/Users/Query`` and ``/Library/VirtualFolders/Query``; a library is removed by its ``Id`` in a JSON body
(``POST /Library/VirtualFolders/Delete``, the SDK's ``LibraryRemoveVirtualFolder``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.responses import Response

from providers.simulator.state import SimError

if TYPE_CHECKING:
    from providers.simulator.app import Ctx, SimulatorApp

EMBY_49 = "emby-4.9"


def routes(app: SimulatorApp) -> None:
    app.add("GET", "/Users", "user", refuse_user_list, EMBY_49)
    app.add("GET", "/Users/Query", "user", users_query, EMBY_49)
    app.add("GET", "/Library/VirtualFolders/Query", "admin", virtual_folders_query, EMBY_49)
    app.add("POST", "/Library/VirtualFolders/Delete", "admin", remove_virtual_folder, EMBY_49)


async def refuse_user_list(ctx: Ctx) -> Response:
    raise SimError(403, "Access denied")


def _flag(ctx: Ctx, name: str) -> bool | None:
    value = ctx.arg(name)
    return None if value is None else value.lower() == "true"


async def users_query(ctx: Ctx) -> Response:
    from providers.simulator.app import json_response, paging

    caller = ctx.require_caller()
    hidden, disabled = _flag(ctx, "IsHidden"), _flag(ctx, "IsDisabled")
    users = [
        u
        for u in ctx.sim.users.values()
        if (caller.is_admin or (caller.user is not None and caller.user.id == u.id))
        and (hidden is None or bool(u.policy.get("IsHidden")) == hidden)
        and (disabled is None or bool(u.policy.get("IsDisabled")) == disabled)
    ]
    users.sort(key=lambda u: u.name.lower(), reverse=(ctx.arg("SortOrder") or "").lower() == "descending")
    start, limit = paging(ctx)
    page = users[start : start + limit] if limit is not None else users[start:]
    return json_response({"Items": [ctx.dto.user(u) for u in page], "TotalRecordCount": len(users)})


async def virtual_folders_query(ctx: Ctx) -> Response:
    from providers.simulator.app import json_response, paging

    libraries = list(ctx.sim.libraries.values())
    start, limit = paging(ctx)
    page = libraries[start : start + limit] if limit is not None else libraries[start:]
    return json_response({"Items": [ctx.dto.library(lib) for lib in page], "TotalRecordCount": len(libraries)})


async def remove_virtual_folder(ctx: Ctx) -> Response:
    from providers.simulator.app import no_content

    body = await ctx.body()
    library = ctx.sim.libraries.get(str(body.get("Id") or "")) if isinstance(body, dict) else None
    if library is None:
        raise SimError(404, "Library not found")
    ctx.sim.delete_library(library.name)
    return no_content()
