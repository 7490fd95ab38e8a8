"""Processing one stored webhook event: the server's truth, applied exactly once.

No server call under a lock: the event is read without a transaction, the media server is asked with
no transaction open (user data, item, user, re-read here: the payload only says *what* changed), and
then one short transaction locks the event row, re-checks it is still ``pending``, and writes the watch
state, the play event and the new status together. A re-delivered job or a sweeper re-enqueue that gets
there second finds the event processed and writes nothing; a crash before that commit leaves the event
``pending``, and the sweeper queues it again. So an event is applied exactly once.

Plays are counted once, from the server's truth. Events about one user's item are applied one at a time
(an advisory lock per user and item), each compared with the state the previous one stored: an event that
finds nothing new (Jellyfin sends PlaybackStop *and* UserDataSaved/PlaybackFinished for one playback)
writes no play event, and the play event that brings a completed play (played now, and not before or
with a higher play count) is the one marked ``completed`` — what Top Picks counts as a play.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from providers.base import UserData
from providers.errors import ProviderNotFound, ProviderUnavailable
from sidecar.db.locks import lock_key
from sidecar.errors import JobError
from sidecar.media_types import MediaType, media_type_of_kind
from sidecar.services import Services
from sidecar.sync.items import refresh_item
from sidecar.sync.libraries import is_output_path
from sidecar.sync.rollup import rollup_series
from sidecar.sync.server import ensure_server, provider
from sidecar.sync.users import refresh_user, user_row_id
from sidecar.sync.watch import ItemRef, apply_user_data, item_refs
from sidecar.webhooks import store
from sidecar.webhooks.parse import ParsedEvent, WebhookParseError, parse_request

log = logging.getLogger(__name__)

PROVIDER_KEYS = store.COPY_PROVIDER_KEYS


@dataclass
class Outcome:
    status: str
    note: str | None = None
    user_id: int | None = None
    media_types: set[str] = field(default_factory=set)
    new_items: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "note": self.note,
            "user_id": self.user_id,
            "media_types": sorted(self.media_types),
            "new_items": self.new_items,
        }


_READ = text("SELECT source, body, content_type, status, received_at FROM webhook_event WHERE id = :id")
_LOCK = text("SELECT status FROM webhook_event WHERE id = :id FOR UPDATE")
_FINISH = text(
    "UPDATE webhook_event SET status = :status, error = :error, processed_at = now(), attempts = attempts + 1"
    " WHERE id = :id"
)

# Writes an event's outcome inside the short transaction that holds its row; None: nothing to finish yet.
Write = Callable[[AsyncConnection], Awaitable[Outcome | None]]


async def process_event(services: Services, event_id: int) -> Outcome:
    try:
        async with services.engine.connect() as conn:
            row = (await conn.execute(_READ, {"id": event_id})).first()
        if row is None:
            return Outcome("skipped", "missing")
        if row.status != store.PENDING:
            return Outcome("skipped", f"already {row.status}")
        return await _act(services, event_id, row.source, bytes(row.body), row.content_type, row.received_at)
    except ProviderUnavailable as exc:
        await _note_attempt(services, event_id, store.PENDING, str(exc))
        raise
    except Exception as exc:
        await _note_attempt(services, event_id, store.FAILED, f"{type(exc).__name__}: {exc}")
        raise JobError(f"webhook event {event_id} failed: {exc}") from exc


async def _commit(services: Services, event_id: int, write: Write) -> Outcome | None:
    """One short transaction: lock the event row, re-check it is still pending, write, mark it processed.

    Every media-server read happens before this, with no transaction open; the re-check makes a second
    job for the same event (re-delivered, re-queued by the sweeper) a no-op, and a crash before the
    commit leaves the event ``pending`` for the sweeper.
    """
    async with services.engine.begin() as conn:
        status = (await conn.execute(_LOCK, {"id": event_id})).scalar_one_or_none()
        if status is None:
            return Outcome("skipped", "missing")
        if status != store.PENDING:
            return Outcome("skipped", f"already {status} (by another job)")
        outcome = await write(conn)
        if outcome is not None:
            await conn.execute(_FINISH, {"id": event_id, "status": outcome.status, "error": outcome.note})
        return outcome


async def _finish(services: Services, event_id: int, outcome: Outcome) -> Outcome:
    async def write(conn: AsyncConnection) -> Outcome:
        return outcome

    done = await _commit(services, event_id, write)
    assert done is not None
    return done


async def _note_attempt(services: Services, event_id: int, status: str, error: str) -> None:
    async with services.engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE webhook_event SET status = :status, error = :error, attempts = attempts + 1"
                " WHERE id = :id AND status = 'pending'"
            ),
            {"id": event_id, "status": status, "error": error[:2000]},
        )


async def _act(
    services: Services,
    event_id: int,
    source: str,
    body: bytes,
    content_type: str | None,
    received_at: datetime,
) -> Outcome:
    try:
        payload, event = parse_request("jellyfin" if source == "jellyfin" else "emby", body, content_type)
    except WebhookParseError as exc:
        return await _finish(services, event_id, Outcome(store.REJECTED, str(exc)))
    if event.action == "ignore":
        return await _finish(services, event_id, Outcome(store.IGNORED, event.ignore_reason))
    provider(services)  # raises JobError when no media server is configured
    if event.action == "user_changed":
        assert event.user_id is not None
        user_id = await refresh_user(services, event.user_id)
        if user_id is None:
            return await _finish(services, event_id, Outcome(store.DONE, "user no longer on the server"))
        from sidecar.publish.ai_picks import secure_changed_user  # publishing builds on sync, not the reverse

        note = await secure_changed_user(services, event.user_id)
        return await _finish(services, event_id, Outcome(store.DONE, note, user_id=user_id))
    assert event.item_id is not None
    if event.action in ("item_added", "item_deleted"):
        return await _item_event(services, event_id, event, payload)
    return await _apply_user_data(services, event_id, event, received_at)


async def _item_event(services: Services, event_id: int, event: ParsedEvent, payload: dict[str, Any] | None) -> Outcome:
    assert event.item_id is not None
    # The server's announcements of Marquee's own copies are settled at ingest; one stored before that
    # (or while no server row existed) is settled here by the same rule, without a round trip.
    facts = store.item_facts(event, payload)
    assert facts is not None
    server_id = await ensure_server(services)

    async def settle(conn: AsyncConnection) -> Outcome | None:
        settled = await store.settle_copies(conn, services.settings, [(event_id, facts)], server_id=server_id)
        return Outcome(store.DONE, settled[event_id]) if event_id in settled else None

    if (outcome := await _commit(services, event_id, settle)) is not None:
        return outcome
    async with services.engine.connect() as conn:
        known = await _known_item_ids(conn, server_id, [event.item_id])
    row_id = await refresh_item(services, event.item_id)
    if row_id is None:
        return await _finish(
            services, event_id, Outcome(store.DONE, "not in a source library, or gone from the server")
        )
    async with services.engine.connect() as conn:
        refs = await item_refs(conn, server_id, [event.item_id])
    kind = refs[event.item_id].kind if event.item_id in refs else "Movie"
    outcome = Outcome(
        store.DONE, new_items=0 if known else 1, media_types={media_type_of_kind(kind) or MediaType.MOVIES}
    )
    return await _finish(services, event_id, outcome)


async def _known_item_ids(conn: AsyncConnection, server_id: int, provider_ids: list[str]) -> set[str]:
    rows = await conn.execute(
        text("SELECT provider_id FROM item WHERE server_id = :s AND provider_id = ANY(:p) AND gone_at IS NULL"),
        {"s": server_id, "p": provider_ids},
    )
    return {str(r[0]) for r in rows}


async def _refs(services: Services, server_id: int, provider_ids: list[str]) -> dict[str, ItemRef]:
    async with services.engine.connect() as conn:
        return await item_refs(conn, server_id, provider_ids)


async def _resolve_item(services: Services, provider_item_id: str) -> tuple[ItemRef, str] | None:
    """(our item, the server id whose user data to read) for a played item; None if Marquee does not hold it.

    An item of Marquee's own output libraries (a STRM copy) stands for its source title, matched by
    provider ids; the server keys user data by those ids, so the source item's data is the truth. The
    database is read in short connections, none open while the server is asked.
    """
    server_id = await ensure_server(services)
    refs = await _refs(services, server_id, [provider_item_id])
    if provider_item_id not in refs and await refresh_item(services, provider_item_id) is not None:
        refs = await _refs(services, server_id, [provider_item_id])
    if provider_item_id in refs:
        return refs[provider_item_id], provider_item_id
    try:
        item = await provider(services).get_item(provider_item_id)
    except ProviderNotFound:
        return None
    if not is_output_path(services.settings, item.path):
        return None
    async with services.engine.connect() as conn:
        for key in PROVIDER_KEYS:
            value = item.provider_ids.get(key)
            if not value:
                continue
            row = (
                await conn.execute(
                    text(
                        "SELECT provider_id FROM item WHERE server_id = :s AND kind = :k AND gone_at IS NULL"
                        " AND provider_ids ->> :key = :value ORDER BY id LIMIT 1"
                    ),
                    {"s": server_id, "k": item.type, "key": key, "value": value},
                )
            ).first()
            if row is not None:
                source_id = str(row[0])
                return (await item_refs(conn, server_id, [source_id]))[source_id], source_id
    return None


def _play_kind(event: ParsedEvent, data: UserData) -> str:
    direct = {
        "playback.start": "start",
        "playback.stop": "stop",
        "item.played": "played",
        "item.unplayed": "unplayed",
        "item.favourite": "favourite",
        "item.unfavourite": "unfavourite",
    }
    if event.event_type in direct:
        return direct[event.event_type]
    if event.save_reason == "TogglePlayed":
        return "played" if data.played else "unplayed"
    if event.save_reason == "PlaybackFinished":
        return "stop"
    return "favourite" if data.is_favorite else "unfavourite"


NO_CHANGE = "nothing changed on the server since an earlier event (e.g. the other event of the same playback)"


@dataclass(frozen=True)
class WatchTruth:
    """A user's stored watch state of one item: the server's truth as last applied."""

    played: bool
    play_count: int
    is_favorite: bool
    position_ticks: int
    last_played_at: datetime | None
    rating: float | None
    completion: float

    def visible(self) -> tuple[Any, ...]:
        """The part recommendations depend on (watched, plays, favourite, started)."""
        return (self.played, self.is_favorite, self.play_count, self.completion >= 0.05)


def is_new_play(before: WatchTruth | None, after: WatchTruth | None) -> bool:
    """A completed play, by the server's truth: the item is played now, and it was not before or its play
    count grew. Jellyfin sends PlaybackStop *and* UserDataSaved (PlaybackFinished) for one playback, and a
    start read after the stop sees the same truth: whichever is applied first counts the play, the others
    find nothing new."""
    if after is None or not after.played:
        return False
    return before is None or not before.played or after.play_count > before.play_count


async def _apply_user_data(services: Services, event_id: int, event: ParsedEvent, received_at: datetime) -> Outcome:
    assert event.user_id is not None and event.item_id is not None
    user_id = await user_row_id(services, event.user_id)
    if user_id is None:
        return await _finish(services, event_id, Outcome(store.IGNORED, "user not on the server"))
    resolved = await _resolve_item(services, event.item_id)
    if resolved is None:
        outcome = Outcome(store.IGNORED, "item not in an enabled source library", user_id=user_id)
        return await _finish(services, event_id, outcome)
    ref, server_item_id = resolved
    found = await provider(services).get_user_data(event.user_id, [server_item_id])
    data = found.get(server_item_id) or UserData(item_id=server_item_id)

    async def write(conn: AsyncConnection) -> Outcome:
        # Events about one user's item are applied one at a time, each against what the previous one stored
        # (the lock is held until this transaction commits).
        await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key(f"watch:{user_id}:{ref.id}")})
        before = await _stored(conn, user_id, ref.id)
        stale = await apply_user_data(conn, user_id, [(ref, data)])
        after = await _stored(conn, user_id, ref.id)
        await rollup_series(conn, user_id, stale)
        if after == before:
            return Outcome(store.DONE, NO_CHANGE, user_id=user_id)
        await conn.execute(
            text(
                "INSERT INTO play_event (user_id, item_id, kind, at, position_ticks, completed, source,"
                " webhook_event_id) VALUES (:u, :i, :k, :at, :pos, :done, 'webhook', :e)"
            ),
            {
                "u": user_id,
                "i": ref.id,
                "k": _play_kind(event, data),
                "at": received_at,
                "pos": data.position_ticks,
                "done": is_new_play(before, after),
                "e": event_id,
            },
        )
        # Only a change the recommender can see is worth a follow-up (a playback start at 0 %, or a progress
        # save that stays in the same band, would recompute and republish the same list).
        changed = (before.visible() if before else None) != (after.visible() if after else None)
        media_types: set[str] = {media_type_of_kind(ref.kind) or MediaType.MOVIES} if changed else set()
        if changed:
            applied.append(await _describe_change(conn, user_id, ref.id, _play_kind(event, data), data))
        return Outcome(store.DONE, user_id=user_id, media_types=media_types)

    applied: list[str] = []
    done = await _commit(services, event_id, write)
    assert done is not None
    if applied and done.media_types:
        log.info("%s", applied[-1])  # the one console line per watch change the recommender will see
    return done


_VERBS = {
    "start": "started",
    "stop": "stopped",
    "played": "marked played",
    "unplayed": "marked unplayed",
    "favourite": "favourited",
    "unfavourite": "unfavourited",
}


async def _describe_change(conn: AsyncConnection, user_id: int, item_id: int, kind: str, data: UserData) -> str:
    row = (
        await conn.execute(
            text(
                "SELECT u.name, i.name, s.name FROM app_user u, item i LEFT JOIN item s ON s.id = i.series_id"
                " WHERE u.id = :u AND i.id = :i"
            ),
            {"u": user_id, "i": item_id},
        )
    ).first()
    user, title = (str(row[0]), f"{row[2]}: {row[1]}" if row[2] else str(row[1])) if row else (str(user_id), "?")
    # The server's truth, not the event's name: a start applied after the playback ended finds it watched.
    if kind in ("start", "stop") and data.played:
        verb = "watched"
    elif kind in ("start", "stop") and data.position_ticks:
        verb = "stopped partway through"
    else:
        verb = _VERBS.get(kind, kind)
    return f"{user} {verb} {title}; refreshing their picks"


async def _stored(conn: AsyncConnection, user_id: int, item_id: int) -> WatchTruth | None:
    row = (
        await conn.execute(
            text(
                "SELECT played, play_count, is_favorite, position_ticks, last_played_at, rating, completion"
                " FROM watch_state WHERE user_id = :u AND item_id = :i"
            ),
            {"u": user_id, "i": item_id},
        )
    ).first()
    return WatchTruth(*row) if row is not None else None
