"""Processing one stored webhook event: the server's truth, applied exactly once.

The event row is locked (``FOR UPDATE SKIP LOCKED``) for the whole run and flipped from ``pending``
in the same transaction that writes the watch state and the play event, so a re-delivered job, a
sweeper re-enqueue or a crash mid-way can never apply an event twice. The payload only says *what*
changed; the values come from the media server (user data, item, user), re-read here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from providers.base import UserData
from providers.errors import ProviderNotFound, ProviderUnavailable
from sidecar.errors import JobError
from sidecar.services import Services
from sidecar.sync import webhook_store as store
from sidecar.sync.items import refresh_item
from sidecar.sync.libraries import is_output_path
from sidecar.sync.rollup import rollup_series
from sidecar.sync.server import ensure_server, provider
from sidecar.sync.users import refresh_user, user_row_id
from sidecar.sync.watch import ItemRef, apply_user_data, item_refs
from sidecar.webhook_parsing import ParsedEvent, WebhookParseError, parse_request, payload_item_facts

log = logging.getLogger(__name__)

MEDIA_TYPE_OF_KIND = {"Movie": "movies", "Series": "series", "Season": "series", "Episode": "series"}
PROVIDER_KEYS = ("Tmdb", "Imdb", "Tvdb")


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


_LOCK = text(
    "SELECT source, body, content_type, status, received_at FROM webhook_event WHERE id = :id FOR UPDATE SKIP LOCKED"
)
_FINISH = text(
    "UPDATE webhook_event SET status = :status, error = :error, processed_at = now(), attempts = attempts + 1"
    " WHERE id = :id"
)


async def process_event(services: Services, event_id: int) -> Outcome:
    async with services.engine.connect() as conn:
        try:
            async with conn.begin():
                row = (await conn.execute(_LOCK, {"id": event_id})).first()
                if row is None:
                    return Outcome("skipped", "missing or being processed by another job")
                if row.status != store.PENDING:
                    return Outcome("skipped", f"already {row.status}")
                outcome = await _act(
                    services, conn, event_id, row.source, bytes(row.body), row.content_type, row.received_at
                )
                await conn.execute(_FINISH, {"id": event_id, "status": outcome.status, "error": outcome.note})
                return outcome
        except ProviderUnavailable as exc:
            await _note_attempt(services, event_id, store.PENDING, str(exc))
            raise
        except Exception as exc:
            await _note_attempt(services, event_id, store.FAILED, f"{type(exc).__name__}: {exc}")
            raise JobError(f"webhook event {event_id} failed: {exc}") from exc


async def _note_attempt(services: Services, event_id: int, status: str, error: str) -> None:
    async with services.engine.begin() as conn:
        await conn.execute(
            text("UPDATE webhook_event SET status = :status, error = :error, attempts = attempts + 1 WHERE id = :id"),
            {"id": event_id, "status": status, "error": error[:2000]},
        )


async def _act(
    services: Services,
    conn: AsyncConnection,
    event_id: int,
    source: str,
    body: bytes,
    content_type: str | None,
    received_at: datetime,
) -> Outcome:
    try:
        payload, event = parse_request("jellyfin" if source == "jellyfin" else "emby", body, content_type)
    except WebhookParseError as exc:
        return Outcome(store.REJECTED, str(exc))
    if event.action == "ignore":
        return Outcome(store.IGNORED, event.ignore_reason)
    provider(services)  # raises JobError when no media server is configured
    if event.action == "user_changed":
        assert event.user_id is not None
        user_id = await refresh_user(services, event.user_id)
        if user_id is None:
            return Outcome(store.DONE, "user no longer on the server")
        from sidecar.publish.ai_picks import secure_changed_user  # publishing builds on sync, not the reverse

        return Outcome(store.DONE, await secure_changed_user(services, event.user_id), user_id=user_id)
    assert event.item_id is not None
    if event.action in ("item_added", "item_deleted"):
        known = await _known_item_ids(conn, services, [event.item_id])
        # Every republish makes the server scan Marquee's own libraries and announce each copy it adds or
        # drops; those are settled here without a round trip to the server.
        if event.action == "item_deleted" and not known:
            return Outcome(store.DONE, "not an item Marquee holds")
        if event.action == "item_added" and not known and await _is_known_copy(conn, services, payload):
            return Outcome(store.DONE, "a copy of a title Marquee already holds (e.g. an AI Picks entry)")
        row_id = await refresh_item(services, event.item_id)
        if row_id is None:
            return Outcome(store.DONE, "not in a source library, or gone from the server")
        refs = await item_refs(conn, await ensure_server(services), [event.item_id])
        kind = refs[event.item_id].kind if event.item_id in refs else "Movie"
        return Outcome(store.DONE, new_items=0 if known else 1, media_types={MEDIA_TYPE_OF_KIND.get(kind, "movies")})
    return await _apply_user_data(services, conn, event_id, event, received_at)


async def _is_known_copy(conn: AsyncConnection, services: Services, payload: dict[str, Any]) -> bool:
    """Whether an added item is a copy in Marquee's own output (by its path), or shares a provider id with
    a live source title (a second source copy is still picked up by the daily catalogue sync)."""
    ids, path = payload_item_facts(payload)
    if is_output_path(services.settings, path):
        return True
    if not ids:
        return False
    server_id = await ensure_server(services)
    for key, value in ids.items():
        if key not in PROVIDER_KEYS:
            continue
        row = (
            await conn.execute(
                text(
                    "SELECT 1 FROM item WHERE server_id = :s AND gone_at IS NULL AND provider_ids ->> :key = :value"
                    " LIMIT 1"
                ),
                {"s": server_id, "key": key, "value": value},
            )
        ).first()
        if row is not None:
            return True
    return False


async def _known_item_ids(conn: AsyncConnection, services: Services, provider_ids: list[str]) -> set[str]:
    server_id = await ensure_server(services)
    rows = await conn.execute(
        text("SELECT provider_id FROM item WHERE server_id = :s AND provider_id = ANY(:p) AND gone_at IS NULL"),
        {"s": server_id, "p": provider_ids},
    )
    return {str(r[0]) for r in rows}


async def _resolve_item(services: Services, conn: AsyncConnection, provider_item_id: str) -> tuple[ItemRef, str] | None:
    """(our item, the server id whose user data to read) for a played item; None if Marquee does not hold it.

    An item of Marquee's own output libraries (a STRM copy) stands for its source title, matched by
    provider ids; the server keys user data by those ids, so the source item's data is the truth.
    """
    server_id = await ensure_server(services)
    refs = await item_refs(conn, server_id, [provider_item_id])
    if provider_item_id not in refs and await refresh_item(services, provider_item_id) is not None:
        refs = await item_refs(conn, server_id, [provider_item_id])
    if provider_item_id in refs:
        return refs[provider_item_id], provider_item_id
    try:
        item = await provider(services).get_item(provider_item_id)
    except ProviderNotFound:
        return None
    if not is_output_path(services.settings, item.path):
        return None
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


async def _apply_user_data(
    services: Services, conn: AsyncConnection, event_id: int, event: ParsedEvent, received_at: datetime
) -> Outcome:
    assert event.user_id is not None and event.item_id is not None
    user_id = await user_row_id(services, event.user_id)
    if user_id is None:
        return Outcome(store.IGNORED, "user not on the server")
    resolved = await _resolve_item(services, conn, event.item_id)
    if resolved is None:
        return Outcome(store.IGNORED, "item not in an enabled source library", user_id=user_id)
    ref, server_item_id = resolved
    found = await provider(services).get_user_data(event.user_id, [server_item_id])
    data = found.get(server_item_id) or UserData(item_id=server_item_id)
    before = await _visible_state(conn, user_id, ref.id)
    stale = await apply_user_data(conn, user_id, [(ref, data)])
    changed = await _visible_state(conn, user_id, ref.id) != before
    await rollup_series(conn, user_id, stale)
    completed = data.played if event.played_to_completion is None else event.played_to_completion
    await conn.execute(
        text(
            "INSERT INTO play_event (user_id, item_id, kind, at, position_ticks, completed, source, webhook_event_id)"
            " VALUES (:u, :i, :k, :at, :pos, :done, 'webhook', :e)"
        ),
        {
            "u": user_id,
            "i": ref.id,
            "k": _play_kind(event, data),
            "at": received_at,
            "pos": event.position_ticks if event.position_ticks is not None else data.position_ticks,
            "done": completed,
            "e": event_id,
        },
    )
    # Only a change the recommender can see is worth a follow-up (a playback start at 0 %, or a progress save
    # that stays in the same band, would recompute and republish the same list).
    media_types = {MEDIA_TYPE_OF_KIND.get(ref.kind, "movies")} if changed else set()
    return Outcome(store.DONE, user_id=user_id, media_types=media_types)


async def _visible_state(conn: AsyncConnection, user_id: int, item_id: int) -> tuple[Any, ...] | None:
    """The part of a watch state that recommendations depend on (watched, in progress, favourite, plays)."""
    row = (
        await conn.execute(
            text(
                "SELECT played, is_favorite, play_count, completion >= 0.05 FROM watch_state"
                " WHERE user_id = :u AND item_id = :i"
            ),
            {"u": user_id, "i": item_id},
        )
    ).first()
    return tuple(row) if row is not None else None
