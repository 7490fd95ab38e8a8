"""Deleting users: ``DELETE /Users/{userId}`` (both; Emby also ``POST /Users/{Id}/Delete``), which sends the
user-deleted webhook (Jellyfin ``UserDeleted``, Emby ``user.deleted``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.responses import Response

if TYPE_CHECKING:
    from providers.simulator.app import Ctx, SimulatorApp


def routes(app: SimulatorApp) -> None:
    app.add("DELETE", "/Users/{userId}", "admin", delete_user)
    app.add("POST", "/Users/{userId}/Delete", "admin", delete_user, "emby")


async def delete_user(ctx: Ctx) -> Response:
    from providers.simulator.app import no_content

    ctx.sim.delete_user(ctx.params["userId"])
    return no_content()
