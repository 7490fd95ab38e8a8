"""Channels a user owns or that were shared with them (any other channel reads as absent)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from sidecar.db.models import AppUser, Channel, ChannelShare
from sidecar.errors import NotFound
from sidecar.web.read_models.items import item_summary, items_by_id
from sidecar.web.read_models.shared import iso


async def channel_view(session: AsyncSession, channel: Channel, user_id: int, *, full: bool) -> dict[str, Any]:
    owner = await session.get(AppUser, channel.owner_id)
    shares = (
        await session.exec(
            select(AppUser)
            .join(ChannelShare, col(ChannelShare.user_id) == AppUser.id)
            .where(ChannelShare.channel_id == channel.id)
            .order_by(AppUser.name)
        )
    ).all()
    view: dict[str, Any] = {
        "id": channel.id,
        "name": channel.name,
        "media_type": channel.media_type,
        "owner": {"id": channel.owner_id, "name": owner.name if owner else "?"},
        "is_owner": channel.owner_id == user_id,
        "genre_filters": list(channel.genre_filters),
        "text_preferences": channel.text_preferences,
        "example_item_ids": list(channel.example_item_ids),
        "shared_with": [{"id": u.id, "name": u.name} for u in shares],
        "item_count": len(channel.item_ids),
        "updated_at": iso(channel.updated_at),
        "description": channel.description,
        "refreshed_at": iso(channel.refreshed_at),
        "sync": {
            "enabled": channel.sync_enabled,
            "playlist_id": channel.playlist_provider_id,
            "synced_at": iso(channel.synced_at),
            "item_count": channel.synced_item_count,
            "error": channel.sync_error,
        },
    }
    if full:
        items = await items_by_id(session, [*channel.example_item_ids, *channel.item_ids])
        view["examples"] = [item_summary(items[i]) for i in channel.example_item_ids if i in items]
        view["items"] = [item_summary(items[i]) for i in channel.item_ids if i in items]
    return view


async def channels_for(session: AsyncSession, user_id: int) -> list[dict[str, Any]]:
    shared = select(ChannelShare.channel_id).where(ChannelShare.user_id == user_id)
    rows = (
        await session.exec(
            select(Channel)
            .where(or_(col(Channel.owner_id) == user_id, col(Channel.id).in_(shared)))
            .order_by(col(Channel.name), col(Channel.id))
        )
    ).all()
    return [await channel_view(session, c, user_id, full=False) for c in rows]


async def channel_visible(session: AsyncSession, channel_id: int, user_id: int) -> Channel:
    channel = await session.get(Channel, channel_id)
    if channel is not None and channel.owner_id != user_id:
        share = await session.get(ChannelShare, (channel_id, user_id))
        if share is None:
            channel = None
    if channel is None:
        raise NotFound(f"There is no channel {channel_id} for you.")
    return channel
