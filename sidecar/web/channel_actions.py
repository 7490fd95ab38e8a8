"""What the channel pages and the JSON API do to a channel beyond its form: generate, sync to the media server,
unsync, delete (with its playlist). Each checks that the user owns the channel first (``actions.owned_channel``:
404 for a channel they cannot see, 403 for one only shared with them) and never holds a database transaction
open while the media server is asked. Media-server trouble is a 502 naming it; no server configured is a 409.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException

from sidecar.channel_generate import Proposal, generate_channel
from sidecar.channel_playlists import ChannelSyncFailed, NoMediaServer, SyncResult, remove_playlist, sync_channel
from sidecar.channels import fill_channel
from sidecar.db.models import AppUser, Channel
from sidecar.services import Services
from sidecar.web import actions
from sidecar.web.read_models.play_links import play_links


async def _owned(services: Services, channel_id: int, user_id: int) -> Channel:
    async with services.sessions() as session:
        return await actions.owned_channel(session, channel_id, user_id)


async def generate(services: Services, channel_id: int, user_id: int) -> Proposal:
    await _owned(services, channel_id, user_id)
    return await generate_channel(services, channel_id)


async def sync(services: Services, channel_id: int, user_id: int) -> SyncResult:
    channel = await _owned(services, channel_id, user_id)
    if channel.refreshed_at is None and not channel.item_ids:
        assert channel.id is not None
        await fill_channel(services, channel.id)  # a channel synced before it was ever filled
    try:
        return await sync_channel(services, channel_id)
    except NoMediaServer as exc:
        raise HTTPException(409, str(exc)) from exc
    except ChannelSyncFailed as exc:
        raise HTTPException(502, f"The media server did not take the playlist: {exc}") from exc


async def unsync(services: Services, channel_id: int, user_id: int) -> bool:
    await _owned(services, channel_id, user_id)
    try:
        return await remove_playlist(services, channel_id)
    except NoMediaServer as exc:
        raise HTTPException(409, str(exc)) from exc
    except ChannelSyncFailed as exc:
        raise HTTPException(502, f"{exc}. The channel keeps its playlist; try again.") from exc


async def delete(services: Services, channel_id: int, user_id: int) -> None:
    """Remove the playlist from the server first: a channel is never deleted while its playlist is left behind."""
    channel = await _owned(services, channel_id, user_id)
    if channel.playlist_provider_id is not None:
        await unsync(services, channel_id, user_id)
    async with services.sessions() as session:
        await actions.delete_channel(session, channel_id, user_id)


async def playlist_link(services: Services, view: dict[str, Any]) -> str | None:
    """The synced playlist in the media server's web app (``play_links``: the public URL, never a key)."""
    playlist_id = view["sync"]["playlist_id"]
    if not playlist_id:
        return None
    async with services.sessions() as session:
        owner = await session.get(AppUser, view["owner"]["id"])
        links = await play_links(session, services.settings)
    return links.url(owner.server_id if owner else None, playlist_id)
