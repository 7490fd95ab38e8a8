"""Keeping channels fresh: refill a channel from its criteria and, when it is synced, rewrite its playlist.

Two triggers: the owner's watch changed (``refresh_after_watch``, a stage of the webhook follow-up, so a title the
owner just watched leaves the playlist within seconds) and the ``refresh-channels`` schedule (``refresh_all``, which
also brings in new titles and catches anything a lost webhook missed). Only channels that were filled before are
refilled: an empty, never-filled channel stays as its owner left it. One channel's failure (a media server that
refuses) is logged and stored on that channel; the others go on.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlmodel import col, select

from sidecar.channel_playlists import NoMediaServer, sync_channel
from sidecar.channels import fill_channel
from sidecar.db.models import Channel
from sidecar.errors import MarqueeError, NotFound
from sidecar.services import Services

if TYPE_CHECKING:
    from sidecar.jobs.progress import Progress

log = logging.getLogger(__name__)


@dataclass
class RefreshReport:
    refilled: int = 0
    synced: int = 0
    failed: dict[int, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"refilled": self.refilled, "synced": self.synced, "failed": self.failed}


async def _channels(services: Services, owner_id: int | None, media_types: Collection[str] | None) -> list[Channel]:
    async with services.sessions() as session:
        query = select(Channel).order_by(col(Channel.id))
        if owner_id is not None:
            query = query.where(Channel.owner_id == owner_id)
        if media_types is not None:
            query = query.where(col(Channel.media_type).in_(list(media_types)))
        return list((await session.exec(query)).all())


async def refresh_channels(
    services: Services,
    *,
    owner_id: int | None = None,
    media_types: Collection[str] | None = None,
    fresh_histories: bool = False,
) -> RefreshReport:
    report = RefreshReport()
    for channel in await _channels(services, owner_id, media_types):
        assert channel.id is not None
        if channel.refreshed_at is None and not channel.item_ids and not channel.sync_enabled:
            continue
        try:
            await fill_channel(services, channel.id, fresh_histories=fresh_histories)
        except NotFound:
            continue  # deleted while we went through the list
        report.refilled += 1
        if not channel.sync_enabled:
            continue
        try:
            await sync_channel(services, channel.id)
            report.synced += 1
        except NoMediaServer:
            return report
        except MarqueeError as exc:  # the server refused, or the channel or its owner went meanwhile
            log.warning("channel %d (%s): playlist sync failed: %s", channel.id, channel.name, exc)
            report.failed[channel.id] = str(exc)
    return report


async def refresh_after_watch(
    services: Services, user_id: int, media_types: frozenset[str], progress: Progress
) -> None:
    """The follow-up stage: the user's channels of the changed media types, from their latest watches."""
    report = await refresh_channels(services, owner_id=user_id, media_types=media_types, fresh_histories=True)
    if report.refilled:
        progress.log(
            f"channels: {report.refilled} refilled, {report.synced} playlists synced, {len(report.failed)} failed"
        )
