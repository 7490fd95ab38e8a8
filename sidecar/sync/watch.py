"""Each user's watch history (played, play count, favourite, last played, position, completion, rating).

Full sync reads four views per user (played; favourites; in progress; everything with user data
saved since 1971), writes them in bulk and removes rows the server no longer reports. Delta sync asks
the server only for items whose user data was saved since the user's cursor
(``MinDateLastSavedForUser``) — without a played filter, so un-marking shows up too. Series rows are
rolled up from their episodes (``sidecar.sync.rollup``). Items Marquee does not hold (disabled or
output libraries) are skipped. A few users are read at once, so one user's server calls overlap another's
database writes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from providers.base import MediaServer, UserData, UserItem
from sidecar.services import Services
from sidecar.sync.bulk import rows_json, select_rows
from sidecar.sync.read_ahead import pages
from sidecar.sync.rollup import rollup_series
from sidecar.sync.server import ensure_server, provider

WATCHED_KINDS = ["Movie", "Episode"]
FAVOURITE_KINDS = ["Movie", "Series", "Episode"]
RESUME_LIMIT = 1000
# The cursor is our clock; asking from a little earlier absorbs clock skew with the server (upserts are idempotent).
CURSOR_OVERLAP = timedelta(minutes=5)
CHUNK = 500
EVER = datetime(1971, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class ItemRef:
    id: int
    kind: str
    runtime_ticks: int | None
    series_id: int | None


def is_empty(data: UserData) -> bool:
    return (
        not data.played
        and data.play_count == 0
        and not data.is_favorite
        and data.position_ticks == 0
        and data.rating is None
    )


def completion(data: UserData, runtime_ticks: int | None) -> float:
    if data.played:
        return 1.0
    if data.played_percentage is not None:
        value = data.played_percentage / 100.0
    elif runtime_ticks:
        value = data.position_ticks / runtime_ticks
    else:
        value = 0.0
    return min(1.0, max(0.0, value))


_WATCH_COLUMNS = (
    "user_id",
    "item_id",
    "played",
    "play_count",
    "is_favorite",
    "last_played_at",
    "position_ticks",
    "completion",
    "rating",
    "updated_at",
)
_UPSERT_WATCH = text(
    f"INSERT INTO watch_state ({', '.join(_WATCH_COLUMNS)}) {select_rows('watch_state', _WATCH_COLUMNS)}"
    " ON CONFLICT (user_id, item_id) DO UPDATE SET " + ", ".join(f"{c} = EXCLUDED.{c}" for c in _WATCH_COLUMNS[2:])
)


def watch_values(user_id: int, ref: ItemRef, data: UserData, now: datetime) -> dict[str, Any]:
    return {
        "user_id": user_id,
        "item_id": ref.id,
        "played": data.played,
        "play_count": data.play_count,
        "is_favorite": data.is_favorite,
        "last_played_at": data.last_played,
        "position_ticks": data.position_ticks,
        "completion": completion(data, ref.runtime_ticks),
        "rating": data.rating,
        "updated_at": now,
    }


async def item_refs(conn: AsyncConnection, server_id: int, provider_ids: Iterable[str]) -> dict[str, ItemRef]:
    ids = list(set(provider_ids))
    if not ids:
        return {}
    rows = await conn.execute(
        text(
            "SELECT provider_id, id, kind, runtime_ticks, series_id FROM item"
            " WHERE server_id = :s AND provider_id = ANY(:p)"
        ),
        {"s": server_id, "p": ids},
    )
    return {str(r[0]): ItemRef(int(r[1]), str(r[2]), r[3], r[4]) for r in rows}


async def apply_user_data(conn: AsyncConnection, user_id: int, entries: Sequence[tuple[ItemRef, UserData]]) -> set[int]:
    """Upsert non-empty states, delete empty ones; returns the series ids whose roll-up is now stale."""
    stale = await apply_users_data(conn, [(user_id, ref, data) for ref, data in entries])
    return stale.get(user_id, set())


_DELETE_WATCH = text(
    "DELETE FROM watch_state WHERE (user_id, item_id) IN"
    " (SELECT * FROM unnest(CAST(:users AS integer[]), CAST(:items AS integer[])))"
)


async def apply_users_data(
    conn: AsyncConnection, entries: Sequence[tuple[int, ItemRef, UserData]]
) -> dict[int, set[int]]:
    """``apply_user_data`` for several users' entries in one upsert and one delete; stale series by user."""
    now = datetime.now(UTC)
    keep = {(u, ref.id): watch_values(u, ref, data, now) for u, ref, data in entries if not is_empty(data)}
    drop = sorted({(u, ref.id) for u, ref, data in entries if is_empty(data)} - keep.keys())
    if keep:
        await conn.execute(_UPSERT_WATCH, {"rows": rows_json(list(keep.values()))})
    if drop:
        await conn.execute(_DELETE_WATCH, {"users": [u for u, _ in drop], "items": [i for _, i in drop]})
    stale: dict[int, set[int]] = {}
    for u, ref, _ in entries:
        if ref.kind == "Episode" and ref.series_id is not None:
            stale.setdefault(u, set()).add(ref.series_id)
        elif ref.kind == "Series":
            stale.setdefault(u, set()).add(ref.id)
    return stale


@dataclass
class UserSyncResult:
    items: int = 0
    skipped: int = 0
    removed: int = 0


READERS = 4
"""Users read from the server at once (their pages are written as they arrive)."""


@dataclass(frozen=True)
class _Page:
    user_id: int
    items: Sequence[UserItem] = ()
    last: bool = False  # the user's pages are all read


@dataclass(frozen=True)
class _ReadFailed:
    error: BaseException


async def _each(rows: Sequence[UserItem]) -> AsyncIterator[UserItem]:
    for row in rows:
        yield row


async def _resume_rows(server: MediaServer, provider_user_id: str) -> AsyncIterator[UserItem]:
    items = await server.resume_items(provider_user_id, limit=RESUME_LIMIT, fields=(), enable_images=False)
    async for row in _each([UserItem(i.id, i.user_data) for i in items if i.user_data is not None]):
        yield row


async def _user_items(server: MediaServer, provider_user_id: str, cursor: datetime | None) -> AsyncIterator[UserItem]:
    """The user's data saved since ``cursor``, or (no cursor) all of it, by item id. Only ids and user data are
    asked for: the item's kind, runtime and series come from Marquee's own catalogue (``item_refs``)."""
    if cursor is not None:
        # Without a played filter, so un-marking shows up too.
        views = [
            server.iter_user_data(
                [*WATCHED_KINDS, "Series"],
                user_id=provider_user_id,
                min_date_last_saved_for_user=cursor - CURSOR_OVERLAP,
            )
        ]
    else:
        views = [
            server.iter_user_data(WATCHED_KINDS, user_id=provider_user_id, is_played=True),
            server.iter_user_data(FAVOURITE_KINDS, user_id=provider_user_id, is_favorite=True),
            _resume_rows(server, provider_user_id),
            # Everything the user ever touched (also a start abandoned early: counted, but neither
            # played nor resumable); a server that ignores the filter returns everything, still correct.
            server.iter_user_data(FAVOURITE_KINDS, user_id=provider_user_id, min_date_last_saved_for_user=EVER),
        ]
    for view in views:
        async for row in view:
            yield row


async def sync_users_watch(
    services: Services, users: Sequence[tuple[int, str, datetime | None]], report: Any = None
) -> UserSyncResult:
    """Each (user id, server user id, cursor)'s items whose user data was saved since the cursor; a user
    without a cursor is read in full, and rows the server no longer reports for them are removed.

    A few users are read from the server at once, and their pages are written together once a chunk's worth
    has arrived (one transaction, one upsert and one delete for several users): a sync is mostly small pages
    for many users, and per-user round trips would dominate it. The last rows, the removals, the roll-ups and
    the cursors are written in one transaction at the end (for a small sync, the only one).
    """
    server_id = await ensure_server(services)
    server = provider(services)
    started = datetime.now(UTC)
    result = UserSyncResult()
    stale: dict[int, set[int]] = {}
    seen: dict[int, set[int]] = {u: set() for u, _, cursor in users if cursor is None}
    queue: asyncio.Queue[_Page | _ReadFailed] = asyncio.Queue(maxsize=2 * READERS)
    gate = asyncio.Semaphore(READERS)

    async def read(user_id: int, provider_user_id: str, cursor: datetime | None) -> None:
        try:
            async with gate:
                async for page in pages(_user_items(server, provider_user_id, cursor), CHUNK):
                    await queue.put(_Page(user_id, page))
            await queue.put(_Page(user_id, last=True))
        except Exception as exc:  # handed to the writer, raised in its frame
            await queue.put(_ReadFailed(exc))

    async def write(conn: AsyncConnection, batch: Sequence[_Page]) -> None:
        written, series = await _write_pages(conn, server_id, batch, result)
        for user_id, ids in written.items():
            if user_id in seen:
                seen[user_id] |= ids
        for user_id, ids in series.items():
            stale.setdefault(user_id, set()).update(ids)

    readers = [asyncio.create_task(read(*user)) for user in users]
    buffered: list[_Page] = []
    try:
        done = 0
        while done < len(users):
            message = await queue.get()
            if isinstance(message, _ReadFailed):
                raise message.error
            buffered.append(message)
            if _rows(buffered) >= CHUNK:
                async with services.engine.begin() as conn:
                    await write(conn, buffered)
                buffered = []
            if message.last:
                done += 1
                if report is not None:
                    await report(done, len(users))
    finally:
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
    async with services.engine.begin() as conn:
        await write(conn, buffered)
        for user_id, ids in seen.items():
            result.removed += await _remove_unseen(conn, user_id, ids, stale.setdefault(user_id, set()))
        for user_id, ids in stale.items():
            await rollup_series(conn, user_id, ids)
        await conn.execute(
            text("UPDATE app_user SET watch_synced_at = :t WHERE id = ANY(:u)"),
            {"t": started, "u": [u for u, _, _ in users]},
        )
    return result


async def _remove_unseen(conn: AsyncConnection, user_id: int, seen: set[int], stale: set[int]) -> int:
    """Delete the user's rows for items the full read did not report; adds the series to roll up again."""
    removed = (
        await conn.execute(
            text(
                "DELETE FROM watch_state ws USING item i WHERE ws.item_id = i.id AND ws.user_id = :u"
                " AND NOT (ws.item_id = ANY(:seen)) RETURNING i.id, i.kind, i.series_id"
            ),
            {"u": user_id, "seen": list(seen)},
        )
    ).all()
    stale |= {int(r[2]) for r in removed if r[2] is not None}
    stale |= {int(r[0]) for r in removed if r[1] == "Series"}
    stale |= {
        int(r[0])
        for r in await conn.execute(
            text(
                "SELECT DISTINCT i.series_id FROM watch_state ws JOIN item i ON i.id = ws.item_id"
                " WHERE ws.user_id = :u AND i.series_id IS NOT NULL"
            ),
            {"u": user_id},
        )
    }
    return len(removed)


def _rows(batch: Sequence[_Page | _ReadFailed]) -> int:
    return sum(len(m.items) for m in batch if isinstance(m, _Page))


async def _write_pages(
    conn: AsyncConnection, server_id: int, batch: Sequence[_Page], result: UserSyncResult
) -> tuple[dict[int, set[int]], dict[int, set[int]]]:
    """Apply pages of several users' items; returns (item row ids written, stale series ids), by user."""
    refs = await item_refs(conn, server_id, (i.id for page in batch for i in page.items))
    entries = [(page.user_id, refs[i.id], i.user_data) for page in batch for i in page.items if i.id in refs]
    result.items += len(entries)
    result.skipped += sum(len(page.items) for page in batch) - len(entries)
    written: dict[int, set[int]] = {}
    for user_id, ref, _ in entries:
        written.setdefault(user_id, set()).add(ref.id)
    return written, await apply_users_data(conn, entries)


async def sync_watch_history(services: Services, *, full: bool, report: Any = None) -> dict[str, int]:
    """Every live user's history; ``full`` re-reads everything, otherwise each user's delta (a user never
    synced before is read in full)."""
    server_id = await ensure_server(services)
    async with services.engine.connect() as conn:
        users = (
            await conn.execute(
                text(
                    "SELECT id, provider_id, watch_synced_at FROM app_user"
                    " WHERE server_id = :s AND gone_at IS NULL AND NOT is_disabled ORDER BY id"
                ),
                {"s": server_id},
            )
        ).all()
    plan = [(int(u), str(p), None if full else cursor) for u, p, cursor in users]
    totals = await sync_users_watch(services, plan, report)
    return {"users": len(users), "items": totals.items, "skipped": totals.skipped, "removed": totals.removed}
