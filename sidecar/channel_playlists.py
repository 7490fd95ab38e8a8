"""A channel on the media server: one playlist owned by the channel's owner, in the channel's order.

Plan, then write (as the AI Picks publishing does): read the playlist's entries, plan what to remove (entries
whose title left the channel, duplicates), what to append (titles new to it) and which entries to move
(``plan_playlist``, ``plan_moves``: pure), apply the plan by entry id, then read the playlist back and check
it holds exactly the channel's titles in order. The playlist is updated in place, never recreated, so its id,
artwork and the server's links to it survive; it is created only when the channel has none (or the server
lost it) and removed when the channel is deleted or unsynced.

What goes in: a movie channel's movies; for a series channel, each series' first episode the owner has not
played (regular seasons in order, specials last), so the playlist plays as "next up" across the channel and a
watched episode leaves it at once. (A series item itself would be expanded by Jellyfin into every episode.)

Sharing: Jellyfin 10.9+ shares the playlist read-only with the channel's ``shared_with`` users (``Users``,
``IsPublic`` false). Emby has no documented API for it: on Emby 4.8+ the playlist is the owner's alone (the
owner may share it from Emby's own apps); before 4.8 Emby shows every playlist to every user.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlmodel import col, select

from providers.base import MediaServer, PlaylistEntry
from providers.errors import MediaServerError, ProviderNotFound
from sidecar.db.locks import advisory_lock
from sidecar.db.models import AppUser, Channel, ChannelShare, Item
from sidecar.errors import MarqueeError, NotFound
from sidecar.media_types import MediaType
from sidecar.services import Services

log = logging.getLogger(__name__)


class ChannelSyncFailed(MarqueeError):
    """The media server refused or failed a playlist change (the reason is stored on the channel)."""


class NoMediaServer(MarqueeError):
    """Marquee has no media server configured, so there is nowhere to sync to."""


# --- the plan (pure) ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlaylistPlan:
    remove: list[str] = field(default_factory=list)  # entry ids
    add: list[str] = field(default_factory=list)  # item ids, appended in this order

    @property
    def empty(self) -> bool:
        return not self.remove and not self.add


def _key(item_id: str) -> str:
    return item_id.replace("-", "").lower()


def plan_playlist(entries: Sequence[PlaylistEntry], wanted: Sequence[str]) -> PlaylistPlan:
    """Remove entries whose title is not wanted (and repeats of one that is); append wanted titles it lacks."""
    want = {_key(i) for i in wanted}
    seen: set[str] = set()
    remove: list[str] = []
    for entry in entries:
        key = _key(entry.item_id)
        if key not in want or key in seen:
            remove.append(entry.entry_id)
        seen.add(key)
    return PlaylistPlan(remove=remove, add=[i for i in dict.fromkeys(wanted) if _key(i) not in seen])


def plan_moves(entries: Sequence[PlaylistEntry], wanted: Sequence[str]) -> list[tuple[str, int]]:
    """``(entry id, new index)`` moves that put ``entries`` (holding the wanted titles once each) in the wanted
    order; each move takes an entry out and inserts it at the index, as both servers do."""
    order = [(e.entry_id, _key(e.item_id)) for e in entries]
    moves: list[tuple[str, int]] = []
    for index, item_id in enumerate(dict.fromkeys(_key(i) for i in wanted)):
        if index < len(order) and order[index][1] == item_id:
            continue
        found = next((j for j in range(index + 1, len(order)) if order[j][1] == item_id), None)
        if found is None:
            continue  # the server does not hold it (checked after writing)
        entry = order.pop(found)
        order.insert(index, entry)
        moves.append((entry[0], index))
    return moves


# --- what the channel wants on the server ------------------------------------------------------------------


@dataclass(frozen=True)
class PlaylistTarget:
    channel_id: int
    name: str
    owner: str  # the owner's media-server user id
    wanted: list[str]  # item ids on the server, in the channel's order
    shared_with: list[str]  # media-server user ids
    playlist_id: str | None


_NEXT_EPISODES = text(
    """
    SELECT DISTINCT ON (e.series_id) e.series_id, e.provider_id
    FROM item e
    LEFT JOIN watch_state ws ON ws.item_id = e.id AND ws.user_id = :owner
    WHERE e.kind = 'Episode' AND e.gone_at IS NULL AND e.series_id = ANY(:series)
      AND NOT COALESCE(ws.played, false)
    ORDER BY e.series_id, COALESCE(e.season_number, 0) = 0, e.season_number, e.episode_number, e.id
    """
)


async def playlist_target(services: Services, channel_id: int) -> PlaylistTarget:
    async with services.sessions() as session:
        channel = await session.get(Channel, channel_id)
        if channel is None:
            raise NotFound(f"There is no channel {channel_id}.")
        owner = await session.get(AppUser, channel.owner_id)
        if owner is None:
            raise NotFound(f"The owner of channel {channel_id} is gone.")
        shared = (
            await session.exec(
                select(AppUser.provider_id)
                .join(ChannelShare, col(ChannelShare.user_id) == AppUser.id)
                .where(ChannelShare.channel_id == channel_id, col(AppUser.gone_at).is_(None))
                .order_by(AppUser.provider_id)
            )
        ).all()
        rows = (
            await session.exec(
                select(Item.id, Item.provider_id).where(
                    col(Item.id).in_(channel.item_ids or [-1]), col(Item.gone_at).is_(None)
                )
            )
        ).all()
        provider_of = {item_id: provider_id for item_id, provider_id in rows}
        ordered = [i for i in channel.item_ids if i in provider_of]
        if channel.media_type == MediaType.SERIES:
            connection = await session.connection()
            result = await connection.execute(_NEXT_EPISODES, {"owner": owner.id, "series": ordered})
            next_episode = {series_id: provider_id for series_id, provider_id in result.all()}
            wanted = [next_episode[i] for i in ordered if i in next_episode]
        else:
            wanted = [provider_of[i] for i in ordered]
        return PlaylistTarget(
            channel_id=channel_id,
            name=channel.name,
            owner=owner.provider_id,
            wanted=wanted,
            shared_with=list(shared),
            playlist_id=channel.playlist_provider_id,
        )


# --- writing -------------------------------------------------------------------------------------------------


@dataclass
class SyncResult:
    playlist_id: str
    items: int
    removed: int = 0
    added: int = 0
    moved: int = 0
    created: bool = False
    shared: bool = False  # the server took the shares (Jellyfin); False on Emby

    def as_dict(self) -> dict[str, Any]:
        return {
            "playlist_id": self.playlist_id,
            "items": self.items,
            "removed": self.removed,
            "added": self.added,
            "moved": self.moved,
            "created": self.created,
            "shared": self.shared,
        }


def require_server(services: Services) -> MediaServer:
    if services.media_server is None:
        raise NoMediaServer("No media server is configured: set MARQUEE_MEDIA_SERVER_URL, _TYPE and _API_KEY.")
    return services.media_server


async def _write(services: Services, server: MediaServer, target: PlaylistTarget) -> SyncResult:
    entries: list[PlaylistEntry] | None = None
    playlist_id = target.playlist_id
    if playlist_id is not None:
        try:
            entries = await server.playlist_entries(playlist_id, target.owner)
        except ProviderNotFound:
            log.info(
                "channel %d: playlist %s is gone from the server; creating it again", target.channel_id, playlist_id
            )
            playlist_id = None
    created = playlist_id is None
    if playlist_id is None:
        playlist = await server.create_playlist(target.name, target.wanted, target.owner, is_public=False)
        playlist_id = playlist.id
        await _store(services, target.channel_id, playlist_provider_id=playlist_id)  # never orphan it
        entries = await server.playlist_entries(playlist_id, target.owner)
    assert entries is not None
    result = SyncResult(playlist_id=playlist_id, items=0, created=created)
    plan = plan_playlist(entries, target.wanted)
    if plan.remove:
        await server.remove_from_playlist(playlist_id, plan.remove)
    if plan.add:
        await server.add_to_playlist(playlist_id, plan.add, target.owner)
    if not plan.empty:
        entries = await server.playlist_entries(playlist_id, target.owner)
    moves = plan_moves(entries, target.wanted)
    for entry_id, index in moves:
        await server.move_playlist_entry(playlist_id, entry_id, index)
    result.shared = await server.update_playlist(
        playlist_id, name=None if created else target.name, shared_with=target.shared_with
    )
    final = await server.playlist_entries(playlist_id, target.owner) if moves or not plan.empty else entries
    held = [_key(e.item_id) for e in final]
    if held != [_key(i) for i in dict.fromkeys(target.wanted)]:
        missing = len(set(map(_key, target.wanted)) - set(held))
        raise ChannelSyncFailed(
            f"The playlist on the server does not match the channel after syncing ({len(held)} entries,"
            f" {missing} of the channel's titles missing): the server may not have these titles any more."
        )
    result.items, result.removed, result.added, result.moved = len(held), len(plan.remove), len(plan.add), len(moves)
    return result


async def _store(services: Services, channel_id: int, **values: Any) -> None:
    async with services.sessions() as session:
        channel = await session.get(Channel, channel_id)
        if channel is None:
            return
        for name, value in values.items():
            setattr(channel, name, value)
        session.add(channel)
        await session.commit()


async def sync_channel(services: Services, channel_id: int) -> SyncResult:
    """Make the channel's playlist on the server hold exactly its titles in order; keeps syncing it from now on.

    ``ChannelSyncFailed`` (with the reason stored on the channel) when the server refuses or fails."""
    server = require_server(services)
    async with advisory_lock(services.engine, f"channel-playlist:{channel_id}"):
        await _store(services, channel_id, sync_enabled=True)
        target = await playlist_target(services, channel_id)
        try:
            result = await _write(services, server, target)
        except (MediaServerError, ChannelSyncFailed) as exc:
            reason = str(exc) or type(exc).__name__
            await _store(services, channel_id, sync_error=reason[:1000])
            raise ChannelSyncFailed(reason) from exc
        await _store(
            services,
            channel_id,
            playlist_provider_id=result.playlist_id,
            synced_at=datetime.now(UTC),
            synced_item_count=result.items,
            sync_error=None,
        )
    return result


async def remove_playlist(services: Services, channel_id: int) -> bool:
    """Delete the channel's playlist from the server and stop syncing it; True when there was one to delete.

    ``ChannelSyncFailed`` when the server fails (the channel keeps its playlist id, so a retry finds it)."""
    async with advisory_lock(services.engine, f"channel-playlist:{channel_id}"):
        async with services.sessions() as session:
            channel = await session.get(Channel, channel_id)
            if channel is None:
                raise NotFound(f"There is no channel {channel_id}.")
            playlist_id = channel.playlist_provider_id
        deleted = False
        if playlist_id is not None:
            server = require_server(services)
            try:
                await server.delete_item(playlist_id)
                deleted = True
            except ProviderNotFound:
                pass  # already gone
            except MediaServerError as exc:
                await _store(services, channel_id, sync_error=f"Removing the playlist failed: {exc}"[:1000])
                raise ChannelSyncFailed(f"The media server did not remove the playlist: {exc}") from exc
        await _store(
            services,
            channel_id,
            sync_enabled=False,
            playlist_provider_id=None,
            synced_at=None,
            synced_item_count=None,
            sync_error=None,
        )
    return deleted
