"""Movies, series, seasons and episodes of the source libraries → ``item``, in bulk upserts.

Each library is paged through per kind (series before seasons before episodes, so parents exist when
their children arrive) and written in chunks with ``INSERT … ON CONFLICT``; every row a pass returns
only rows whose content changed are rewritten (and get a new ``synced_at``). Once every pass of a
library has completed, its rows the passes did not return are marked gone. Only one chunk of items
(and the list of ids seen) is held in memory.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from providers.base import Item as ProviderItem
from providers.errors import ProviderNotFound
from sidecar.media_types import SPECS, MediaType
from sidecar.services import Services
from sidecar.sync.bulk import rows_json, select_rows
from sidecar.sync.gone import mark_gone_by_provider_id, mark_gone_libraries_items, mark_unseen_gone
from sidecar.sync.libraries import SourceLibrary, library_for_path, source_libraries
from sidecar.sync.read_ahead import pages, read_ahead
from sidecar.sync.server import ensure_server, provider

CHUNK = 500
MOVIE_KINDS = list(SPECS[MediaType.MOVIES].server_kinds)
SERIES_KINDS = list(SPECS[MediaType.SERIES].server_kinds)
_UPDATED = (
    "kind",
    "library_id",
    "parent_id",
    "series_id",
    "season_number",
    "episode_number",
    "name",
    "original_title",
    "sort_name",
    "year",
    "premiere_date",
    "overview",
    "tagline",
    "genres",
    "tags",
    "studios",
    "people",
    "community_rating",
    "critic_rating",
    "official_rating",
    "runtime_ticks",
    "path",
    "provider_ids",
    "image_tags",
    "date_added",
    "date_last_saved",
    "synced_at",
    "gone_at",
)

Report = Callable[[int], Awaitable[None]]


@dataclass
class ItemCounts:
    seen: int = 0
    inserted: int = 0
    gone: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)

    def add(self, other: ItemCounts) -> None:
        self.seen += other.seen
        self.inserted += other.inserted
        self.gone += other.gone
        for kind, n in other.by_kind.items():
            self.by_kind[kind] = self.by_kind.get(kind, 0) + n


def item_values(
    item: ProviderItem,
    *,
    server_id: int,
    library_id: int | None,
    parent_id: int | None,
    series_id: int | None,
    stamp: datetime,
) -> dict[str, Any]:
    is_episode = item.type == "Episode"
    return {
        "server_id": server_id,
        "provider_id": item.id,
        "kind": item.type,
        "library_id": library_id,
        "parent_id": parent_id,
        "series_id": series_id,
        "season_number": item.parent_index_number
        if is_episode
        else (item.index_number if item.type == "Season" else None),
        "episode_number": item.index_number if is_episode else None,
        "name": item.name,
        "original_title": item.original_title,
        "sort_name": item.forced_sort_name or item.sort_name,
        "year": item.year,
        "premiere_date": item.premiere_date,
        "overview": item.overview,
        "tagline": item.tagline,
        "genres": list(item.genres),
        "tags": list(item.tags),
        "studios": list(item.studios),
        "people": [{"name": p.name, "role": p.role, "type": p.type} for p in item.people],
        "community_rating": item.community_rating,
        "critic_rating": item.critic_rating,
        "official_rating": item.official_rating,
        "runtime_ticks": item.runtime_ticks,
        "path": item.path,
        "provider_ids": dict(item.provider_ids),
        "image_tags": dict(item.image_tags),
        "date_added": item.date_created,
        "date_last_saved": item.date_last_saved,
        "synced_at": stamp,
        "gone_at": None,
    }


_INSERTED = ("server_id", "provider_id", *_UPDATED)
_COMPARED = [c for c in _UPDATED if c != "synced_at"]
_UPSERT = text(
    f"INSERT INTO item ({', '.join(_INSERTED)}) {select_rows('item', _INSERTED)}"
    " ON CONFLICT (server_id, provider_id) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in _UPDATED)
    + f" WHERE ({', '.join(f'item.{c}' for c in _COMPARED)})"
    f" IS DISTINCT FROM ({', '.join(f'EXCLUDED.{c}' for c in _COMPARED)})"
    " RETURNING (xmax = 0)"
)


async def upsert_rows(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> int:
    """Write rows (deduplicated by provider id) in one statement; returns how many were new.

    A row whose content did not change is left alone, so ``synced_at`` moves only when the item did
    (the recommender's catalogue cache looks for changed rows by it).
    """
    unique = list({r["provider_id"]: r for r in rows}.values())
    if not unique:
        return 0
    result = (await conn.execute(_UPSERT, {"rows": rows_json(unique)})).all()
    return sum(1 for r in result if r[0])


async def resolve_ids(conn: AsyncConnection, server_id: int, provider_ids: set[str]) -> dict[str, int]:
    if not provider_ids:
        return {}
    rows = await conn.execute(
        text("SELECT provider_id, id FROM item WHERE server_id = :s AND provider_id = ANY(:p)"),
        {"s": server_id, "p": list(provider_ids)},
    )
    return {str(r[0]): int(r[1]) for r in rows}


def _parent_refs(item: ProviderItem) -> tuple[str | None, str | None]:
    """(parent provider id, series provider id) for seasons and episodes."""
    if item.type == "Season":
        series = item.series_id or item.parent_id
        return series, series
    if item.type == "Episode":
        return item.season_id or item.parent_id or item.series_id, item.series_id
    return None, None


async def write_chunk(
    conn: AsyncConnection,
    server_id: int,
    items: Sequence[ProviderItem],
    stamp: datetime,
    library_of: Callable[[ProviderItem], int | None],
) -> int:
    refs = {i.id: _parent_refs(i) for i in items}
    known = await resolve_ids(conn, server_id, {p for pair in refs.values() for p in pair if p})
    rows = []
    for item in items:
        parent_ref, series_ref = refs[item.id]
        series_id = known.get(series_ref) if series_ref else None
        parent_id = (known.get(parent_ref) if parent_ref else None) or series_id
        rows.append(
            item_values(
                item,
                server_id=server_id,
                library_id=library_of(item),
                parent_id=parent_id,
                series_id=series_id,
                stamp=stamp,
            )
        )
    return await upsert_rows(conn, rows)


async def sync_library(
    services: Services,
    server_id: int,
    library: SourceLibrary,
    kinds: list[str],
    *,
    report: Report | None = None,
) -> ItemCounts:
    """Page through each kind of the library, upsert, then mark what the server no longer has."""
    server = provider(services)
    counts = ItemCounts()
    stamp = datetime.now(UTC)
    seen: list[str] = []
    for kind in kinds:
        async for chunk in read_ahead(pages(server.iter_items([kind], parent_id=library.provider_id), CHUNK)):
            async with services.engine.begin() as conn:
                inserted = await write_chunk(conn, server_id, chunk, stamp, lambda _i: library.id)
            seen.extend(i.id for i in chunk)
            counts.seen += len(chunk)
            counts.inserted += inserted
            counts.by_kind[kind] = counts.by_kind.get(kind, 0) + len(chunk)
            if report is not None:
                await report(len(chunk))
    async with services.engine.begin() as conn:
        counts.gone += len(await mark_unseen_gone(conn, library.id, kinds, seen))
    return counts


async def count_catalogue(services: Services, libraries: Sequence[SourceLibrary], kinds: list[str]) -> int:
    server = provider(services)
    total = 0
    for library in libraries:
        total += await server.count_items(kinds, parent_id=library.provider_id)
    return total


async def sync_kind(services: Services, kinds: list[str], *, report: Report | None = None) -> ItemCounts:
    """Movies (``MOVIE_KINDS``) or series with seasons and episodes (``SERIES_KINDS``) of every source."""
    server_id = await ensure_server(services)
    counts = ItemCounts()
    for library in await source_libraries(services, server_id):
        counts.add(await sync_library(services, server_id, library, kinds, report=report))
    async with services.engine.begin() as conn:
        counts.gone += len(await mark_gone_libraries_items(conn, server_id))
    return counts


# --- single items (webhooks) ----------------------------------------------------------------------


async def refresh_item(services: Services, provider_item_id: str) -> int | None:
    """Re-read one item (and, for an episode or season, its series and season) from the server.

    Returns the row id, or None when the item is not in a source library (or the server no longer
    has it, in which case it is marked gone).
    """
    server_id = await ensure_server(services)
    server = provider(services)
    try:
        item = await server.get_item(provider_item_id)
    except ProviderNotFound:
        async with services.engine.begin() as conn:
            await mark_gone_by_provider_id(conn, server_id, provider_item_id)
        return None
    if item.type not in ("Movie", *SERIES_KINDS):
        return None
    lineage = [item]
    if item.type in ("Season", "Episode") and item.series_id:
        parents = [item.series_id] + ([item.season_id] if item.type == "Episode" and item.season_id else [])
        async with services.engine.connect() as conn:
            known = await resolve_ids(conn, server_id, set(parents))
        lineage = [await server.get_item(p) for p in parents if p not in known] + lineage
    library_id, is_source = await library_for_path(services, server_id, lineage[0].path)
    if not is_source:
        async with services.engine.connect() as conn:
            row = await _library_of_series(conn, server_id, item.series_id)
        if row is None:
            return None
        library_id = row
    stamp = datetime.now(UTC)
    async with services.engine.begin() as conn:
        for entry in lineage:
            await write_chunk(conn, server_id, [entry], stamp, lambda _i: library_id)
        ids = await resolve_ids(conn, server_id, {item.id})
    return ids.get(item.id)


async def _library_of_series(conn: AsyncConnection, server_id: int, series_ref: str | None) -> int | None:
    if not series_ref:
        return None
    row = (
        await conn.execute(
            text(
                "SELECT i.library_id FROM item i JOIN library l ON l.id = i.library_id"
                " WHERE i.server_id = :s AND i.provider_id = :p AND l.enabled AND NOT l.is_marquee_output"
            ),
            {"s": server_id, "p": series_ref},
        )
    ).first()
    return int(row[0]) if row is not None else None
