"""Top Picks: rank by popularity, store ``top_pick`` rows, publish the library, collection and playlist.

The collection and the playlist are built from the Top Picks library's own scanned items when the
library is on (after its scan), so users see each title once, and their order comes from our NFO sort
titles: no real library item's sort name is ever rewritten. Without the library they hold the original
items, in rank order for the playlist; a collection then shows in the server's own order.

The admin's custom name applies to all three: a renamed library is re-created under the new name on the
same folder, the collection and playlist are renamed in place (same id, same items).
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlmodel import select

from providers.base import MediaServer
from providers.errors import ProviderNotFound
from sidecar.db.models import Item, PublishedLibrary, TopPick
from sidecar.errors import JobError
from sidecar.jobs.progress import Progress
from sidecar.media_types import spec
from sidecar.publish.library import LibraryResult, publish_library, require_server, server_path, unpublish
from sidecar.publish.library_rows import Target, library_row, save_row
from sidecar.publish.naming import top_picks_folder, top_picks_library_name
from sidecar.publish.popularity import RankedTitle, popularity, rank_popular, reason
from sidecar.publish.server_library import pin, rename
from sidecar.runtime_settings import TopPicksSettings, load, top_picks_key
from sidecar.services import Services

log = logging.getLogger(__name__)


@dataclass
class TopPicksResult:
    media_type: str
    ranked: int = 0
    library: LibraryResult | None = None
    collection_id: str | None = None
    playlist_id: str | None = None
    item_ids: list[str] = field(default_factory=list)  # what the collection/playlist hold, in rank order

    def as_dict(self) -> dict[str, Any]:
        return {
            "ranked": self.ranked,
            "library": self.library.summary() if self.library else None,
            "collection": self.collection_id,
            "playlist": self.playlist_id,
        }


async def compute_top_picks(services: Services, media_type: str, config: TopPicksSettings) -> list[RankedTitle]:
    """Rank and store this media type's Top Picks (``top_pick`` rows replaced)."""
    since = datetime.now(UTC) - timedelta(days=config.window_days)
    async with services.sessions() as session:
        stats = await popularity(session, media_type, since)
        ranked = rank_popular(stats, config.weights, min_viewers=config.min_viewers, count=config.count)
        await session.exec(delete(TopPick).where(TopPick.media_type == media_type))  # type: ignore[arg-type]
        now = datetime.now(UTC)
        for entry in ranked:
            session.add(
                TopPick(
                    media_type=media_type,
                    item_id=entry.stats.item_id,
                    rank=entry.rank,
                    score=entry.score,
                    unique_viewers=entry.stats.viewers,
                    play_count=entry.stats.plays,
                    completion=entry.stats.completion,
                    computed_at=now,
                )
            )
        await session.commit()
    return ranked


async def _scanned_in_rank_order(
    server: MediaServer, library_id: str, base_path: str, media_type: str, folders: dict[str, int]
) -> list[str]:
    """The library's own items mapped back (by folder) to our ranked titles, in rank order."""
    rank_of = {folder: rank for rank, folder in enumerate(folders)}
    prefix = base_path.rstrip("/") + "/"
    found: dict[int, str] = {}
    async for item in server.iter_items([spec(media_type).kind], parent_id=library_id, sort_by=None):
        if not item.path or not item.path.startswith(prefix):
            continue
        folder = item.path[len(prefix) :].split("/", 1)[0]
        if folder in rank_of:
            found.setdefault(rank_of[folder], item.id)
    return [found[rank] for rank in sorted(found)]


async def _original_ids(services: Services, ranked: list[RankedTitle]) -> list[str]:
    ids = [r.stats.item_id for r in ranked]
    async with services.sessions() as session:
        rows = (await session.exec(select(Item).where(Item.id.in_(ids)))).all()  # type: ignore[union-attr]
    by_id = {row.id: row.provider_id for row in rows}
    return [by_id[i] for i in ids if i in by_id]


async def sync_collection(server: MediaServer, name: str, known_id: str | None, item_ids: list[str]) -> str:
    """Make the collection ``name`` hold exactly ``item_ids`` (added in this order); returns its id."""
    collection = None
    if known_id:
        collection = next((c for c in await server.list_collections() if c.id == known_id), None)
    collection = collection or await server.find_collection(name)
    if collection is None:
        created = await server.create_collection(name, item_ids)
        await pin(server, created.id, name)
        return created.id
    if collection.name != name:
        await rename(server, collection.id, name)
    current = [item.id for item in await server.collection_items(collection.id)]
    if current != item_ids:
        if current:
            await server.remove_from_collection(collection.id, current)
        if item_ids:
            await server.add_to_collection(collection.id, item_ids)
    return collection.id


async def _playlist_owner(server: MediaServer) -> str:
    users = await server.list_users()
    admin = next((u for u in users if u.is_admin and not u.is_disabled), None)
    if admin is None:
        raise JobError("The media server has no enabled administrator to own the Top Picks playlist.")
    return admin.id


async def sync_playlist(server: MediaServer, name: str, known_id: str | None, item_ids: list[str]) -> str:
    """Make the public playlist ``name`` hold exactly ``item_ids`` in this order; returns its id."""
    owner = await _playlist_owner(server)
    playlists = await server.list_playlists(owner)
    playlist = next((p for p in playlists if known_id and p.id == known_id), None) or next(
        (p for p in playlists if p.name == name), None
    )
    if playlist is None:
        created = await server.create_playlist(name, item_ids, owner, is_public=True)
        await pin(server, created.id, name)
        return created.id
    if playlist.name != name:
        await rename(server, playlist.id, name)
    entries = await server.playlist_entries(playlist.id, owner)
    if [e.item_id for e in entries] != item_ids:
        if entries:
            await server.remove_from_playlist(playlist.id, [e.entry_id for e in entries])
        if item_ids:
            await server.add_to_playlist(playlist.id, item_ids, owner)
    return playlist.id


async def _drop_extra(server: MediaServer, item_id: str | None) -> None:
    if item_id:
        with contextlib.suppress(ProviderNotFound):
            await server.delete_item(item_id)


async def _existing_row(services: Services, media_type: str) -> PublishedLibrary | None:
    async with services.sessions() as session:
        query = select(PublishedLibrary).where(
            PublishedLibrary.kind == "top_picks",
            PublishedLibrary.media_type == media_type,
        )
        return (await session.exec(query.order_by(PublishedLibrary.id))).first()  # type: ignore[arg-type]


async def refresh_top_picks_for(services: Services, media_type: str, progress: Progress) -> TopPicksResult:
    server = require_server(services)
    async with services.sessions() as session:
        config = await load(session, top_picks_key(media_type))  # type: ignore[arg-type]
    result = TopPicksResult(media_type)
    outputs = config.outputs
    name = top_picks_library_name(media_type, outputs.name)
    existing = await _existing_row(services, media_type)
    if not config.enabled:
        if existing is not None:
            await _drop_extra(server, existing.collection_provider_id)
            await _drop_extra(server, existing.playlist_provider_id)
            await unpublish(services, existing, progress)
        return result
    ranked = await compute_top_picks(services, media_type, config)
    result.ranked = len(ranked)
    progress.log(f"Top Picks {media_type}: {len(ranked)} titles")
    target = Target("top_picks", media_type, name, top_picks_folder(media_type), outputs.library_mode)
    picks = [(r.stats.item_id, reason(r.stats, media_type, config.window_days)) for r in ranked]
    if outputs.library:
        result.library = await publish_library(services, target, picks, progress)
        row = await library_row(services, target)
        assert result.library.provider_library_id is not None
        result.item_ids = await _scanned_in_rank_order(
            server,
            result.library.provider_library_id,
            server_path(services, target.folder),
            media_type,
            result.library.folders,
        )
    else:
        if existing is not None and existing.provider_library_id is not None:
            await unpublish(services, existing, progress)
        row = await library_row(services, target)
        result.item_ids = await _original_ids(services, ranked)
    if outputs.collection:
        result.collection_id = await sync_collection(server, name, row.collection_provider_id, result.item_ids)
    else:
        await _drop_extra(server, row.collection_provider_id)
    if outputs.playlist:
        result.playlist_id = await sync_playlist(server, name, row.playlist_provider_id, result.item_ids)
    else:
        await _drop_extra(server, row.playlist_provider_id)
    await save_row(services, row, collection_provider_id=result.collection_id, playlist_provider_id=result.playlist_id)
    return result
