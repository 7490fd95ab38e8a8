"""The channel pages: the user's channels and the ones shared with them, one channel (with its playlist's
sync state), and the form that creates or edits one; fill, generate, sync/unsync and delete.

Examples are chosen by id: the form lists the chosen ones as checkboxes, ``static/channel-form.js`` adds a
search-as-you-type box over ``/api/items`` of the channel's type, and without JavaScript titles typed one per line
are looked up instead. Examples of the other type (after switching Movies/Series) are left out and the channel
page says so, rather than refusing the form.

Every form POST is checked for its CSRF token (``auth.checked_form``) and answers with a redirect
(POST/redirect/GET) or the form re-rendered with the problem named.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sidecar.channels import fill_channel
from sidecar.errors import InvalidInput
from sidecar.media_types import MEDIA_TYPES, spec
from sidecar.web import actions, auth, channel_actions
from sidecar.web.auth import require_user, services_of, user_of
from sidecar.web.read_models import channels as channel_reads
from sidecar.web.read_models import items as item_reads
from sidecar.web.read_models import users as user_reads
from sidecar.web.rendering import form_ints, path_int, render, see_other
from sidecar.web.schemas import ChannelIn, parse


@require_user
async def channels_page(request: Request) -> Response:
    user = await user_of(request)
    async with services_of(request).sessions() as session:
        channels = await channel_reads.channels_for(session, user.id)
    return await render(request, "channels.html", {"channels": channels, "page": "channels"})


_NOTES = {
    "left_out": "Examples of the other type were left out: a series channel takes series, a movie channel movies.",
    "synced": "The playlist on the media server now holds this channel, in order.",
    "unsynced": "The playlist was removed from the media server.",
    "generated": "Generated: the empty fields were filled in and the channel refilled.",
}


@require_user
async def channel_page(request: Request) -> Response:
    user = await user_of(request)
    services = services_of(request)
    async with services.sessions() as session:
        channel = await channel_reads.channel_visible(session, path_int(request, "channel_id"), user.id)
        view = await channel_reads.channel_view(session, channel, user.id, full=True)
    view["sync"]["playlist_url"] = await channel_actions.playlist_link(services, view)
    notes = [_NOTES[n] for n in request.query_params.getlist("note") if n in _NOTES]
    return await render(
        request,
        "channel.html",
        {"channel": view, "page": "channels", "notes": notes, "server_kind": services.settings.media_server_type},
    )


async def _channel_form(
    request: Request,
    *,
    channel: dict[str, Any] | None,
    values: dict[str, Any],
    error: str | None = None,
    status: int = 200,
) -> Response:
    user = await user_of(request)
    async with services_of(request).sessions() as session:
        users = [u for u in await user_reads.live_users(session) if u.id != user.id]
        genres = {mt: await item_reads.genres(session, mt) for mt in MEDIA_TYPES}
    return await render(
        request,
        "channel_form.html",
        {"channel": channel, "values": values, "users": users, "genres": genres, "error": error, "page": "channels"},
        status,
    )


@require_user
async def channel_new(request: Request) -> Response:
    values = {
        "name": "",
        "media_type": "movies",
        "genre_filters": [],
        "text_preferences": "",
        "examples": "",
        "example_items": [],
        "shared_with": [],
    }
    return await _channel_form(request, channel=None, values=values)


@require_user
async def channel_edit(request: Request) -> Response:
    user = await user_of(request)
    async with services_of(request).sessions() as session:
        channel = await actions.owned_channel(session, path_int(request, "channel_id"), user.id)
        view = await channel_reads.channel_view(session, channel, user.id, full=True)
    values = {
        "name": view["name"],
        "media_type": view["media_type"],
        "genre_filters": view["genre_filters"],
        "text_preferences": view["text_preferences"],
        "examples": "",
        "example_items": view["examples"],
        "shared_with": [u["id"] for u in view["shared_with"]],
    }
    return await _channel_form(request, channel=view, values=values)


async def _channel_submit(request: Request, channel_id: int | None) -> Response:
    user = await user_of(request)
    form = await auth.checked_form(request)
    examples = str(form.get("examples") or "")
    values: dict[str, Any] = {
        "name": str(form.get("name") or ""),
        "media_type": str(form.get("media_type") or "movies"),
        "genre_filters": [str(g) for g in form.getlist("genre_filters")],
        "text_preferences": str(form.get("text_preferences") or ""),
        "examples": examples,
        "example_items": [],
        "shared_with": [],
    }
    left_out = False
    async with services_of(request).sessions() as session:
        view = None
        if channel_id is not None:
            channel = await actions.owned_channel(session, channel_id, user.id)
            view = await channel_reads.channel_view(session, channel, user.id, full=False)
        try:
            values["shared_with"] = form_ints(form, "shared_with")
            chosen = list(dict.fromkeys(form_ints(form, "example_ids")))
            found = await item_reads.items_by_id(session, chosen)
            values["example_items"] = [item_reads.item_summary(found[i]) for i in chosen if i in found]
            if values["media_type"] not in MEDIA_TYPES:
                raise InvalidInput("media_type is 'movies' or 'series'")
            if "\x00" in examples:
                raise InvalidInput("examples: NUL characters are not allowed")
            kind = spec(values["media_type"]).kind
            ids = [i for i in chosen if i in found and found[i].kind == kind]
            left_out = len(ids) < len([i for i in chosen if i in found])
            lines = [line for line in examples.splitlines() if line.strip()]
            typed, missing = await item_reads.find_titles(session, values["media_type"], lines)
            if missing:
                raise InvalidInput(f"No {values['media_type']} titled: " + "; ".join(missing))
            ids = list(dict.fromkeys([*ids, *typed]))
            data = parse(
                ChannelIn,
                {k: values[k] for k in ("name", "media_type", "genre_filters", "text_preferences", "shared_with")}
                | {"example_item_ids": ids},
            )
            if channel_id is None:
                saved = await actions.create_channel(session, user.id, data)
            else:
                saved = await actions.update_channel(session, channel_id, user.id, data)
        except InvalidInput as exc:
            await session.rollback()
            return await _channel_form(request, channel=view, values=values, error=str(exc), status=400)
    return see_other(f"/channels/{saved.id}" + ("?note=left_out" if left_out else ""))


@require_user
async def channel_create(request: Request) -> Response:
    return await _channel_submit(request, None)


@require_user
async def channel_update(request: Request) -> Response:
    return await _channel_submit(request, path_int(request, "channel_id"))


@require_user
async def channel_fill(request: Request) -> Response:
    user = await user_of(request)
    await auth.checked_form(request)
    channel_id = path_int(request, "channel_id")
    async with services_of(request).sessions() as session:
        await actions.owned_channel(session, channel_id, user.id)
    await fill_channel(services_of(request), channel_id)
    return see_other(f"/channels/{channel_id}")


@require_user
async def channel_delete(request: Request) -> Response:
    user = await user_of(request)
    await auth.checked_form(request)
    await channel_actions.delete(services_of(request), path_int(request, "channel_id"), user.id)
    return see_other("/channels")


@require_user
async def channel_generate(request: Request) -> Response:
    user = await user_of(request)
    await auth.checked_form(request)
    channel_id = path_int(request, "channel_id")
    await channel_actions.generate(services_of(request), channel_id, user.id)
    return see_other(f"/channels/{channel_id}?note=generated")


@require_user
async def channel_sync(request: Request) -> Response:
    user = await user_of(request)
    await auth.checked_form(request)
    channel_id = path_int(request, "channel_id")
    await channel_actions.sync(services_of(request), channel_id, user.id)
    return see_other(f"/channels/{channel_id}?note=synced")


@require_user
async def channel_unsync(request: Request) -> Response:
    user = await user_of(request)
    await auth.checked_form(request)
    channel_id = path_int(request, "channel_id")
    await channel_actions.unsync(services_of(request), channel_id, user.id)
    return see_other(f"/channels/{channel_id}?note=unsynced")


def routes() -> list[BaseRoute]:
    return [
        Route("/channels", channels_page, methods=["GET"]),
        Route("/channels", channel_create, methods=["POST"]),
        Route("/channels/new", channel_new),
        Route("/channels/{channel_id:id}", channel_page, methods=["GET"]),
        Route("/channels/{channel_id:id}", channel_update, methods=["POST"]),
        Route("/channels/{channel_id:id}/edit", channel_edit),
        Route("/channels/{channel_id:id}/delete", channel_delete, methods=["POST"]),
        Route("/channels/{channel_id:id}/fill", channel_fill, methods=["POST"]),
        Route("/channels/{channel_id:id}/generate", channel_generate, methods=["POST"]),
        Route("/channels/{channel_id:id}/sync", channel_sync, methods=["POST"]),
        Route("/channels/{channel_id:id}/unsync", channel_unsync, methods=["POST"]),
    ]
