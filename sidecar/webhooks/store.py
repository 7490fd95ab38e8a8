"""The ``webhook_event`` table: raw requests stored before anything acts on them.

The receiver is the hot path: rows go through ``writer.EventWriter``, which writes concurrent requests in one
multi-row insert, then queues their jobs (``enqueue``). The content hash (source + body) makes a re-delivered
request a no-op.

Marquee's own copies are settled at ingest. Every republish makes the server scan Marquee's libraries and
announce each copy it added or dropped (item.added / item.deleted). In the transaction that stores them,
``settle_copies`` marks such events ``done`` with the reason and queues no job; ``prune-history`` removes
them later with the other settled events. The rule, the only one Marquee applies: an item.deleted for an
item Marquee does not hold; an item.added for an item it does not hold whose path lies in Marquee's
output (Emby sends paths) or that shares a Tmdb/Imdb/Tvdb id with a live title (Jellyfin's ItemAdded has
no path, only ``Provider_*`` ids). A genuinely new second copy of a title is still picked up by the daily
catalogue sync.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from sidecar.settings import Settings
from sidecar.sync.libraries import is_output_path
from sidecar.webhooks.parse import ParsedEvent, payload_item_facts

PENDING = "pending"
DONE = "done"
IGNORED = "ignored"
REJECTED = "rejected"
FAILED = "failed"

MAX_ATTEMPTS = 8
KEPT_HEADERS = (
    "content-type",
    "content-length",
    "user-agent",
    "x-forwarded-for",
    "x-real-ip",
    "x-emby-event",
    "x-jellyfin-event",
)


COPY_PROVIDER_KEYS = ("Tmdb", "Imdb", "Tvdb")
NOT_HELD = "not an item Marquee holds"
A_COPY = "a copy of a title Marquee already holds (e.g. an AI Picks entry)"


@dataclass(frozen=True)
class Stored:
    id: int
    status: str
    duplicate: bool


@dataclass(frozen=True)
class ItemFacts:
    """What an item.added / item.deleted event says about its item: enough to tell a copy of Marquee's."""

    deleted: bool
    item_id: str
    provider_ids: dict[str, str]
    path: str | None


def item_facts(event: ParsedEvent | None, payload: dict[str, Any] | None) -> ItemFacts | None:
    if event is None or event.item_id is None or event.action not in ("item_added", "item_deleted"):
        return None
    ids, path = payload_item_facts(payload) if payload and event.action == "item_added" else ({}, None)
    kept = {k: v for k, v in ids.items() if k in COPY_PROVIDER_KEYS}
    return ItemFacts(event.action == "item_deleted", event.item_id, kept, path)


# The rule, for many events at once; :server NULL means the media server Marquee saw last (the receiver
# never asks the server, so it may not know the row id).
_SETTLE_COPIES = text(
    """
    WITH facts AS (
        SELECT * FROM json_to_recordset(CAST(:facts AS json))
                 AS f(id int, deleted boolean, item text, ids jsonb, output boolean)
    ), srv AS (
        SELECT coalesce(CAST(:server AS int),
                        (SELECT id FROM media_server ORDER BY last_seen_at DESC NULLS LAST, id DESC LIMIT 1)) AS id
    ), copies AS (
        SELECT f.id, CASE WHEN f.deleted THEN :not_held ELSE :a_copy END AS note
        FROM facts f CROSS JOIN srv
        WHERE NOT EXISTS (
                SELECT 1 FROM item i WHERE i.server_id = srv.id AND i.provider_id = f.item AND i.gone_at IS NULL)
          AND (f.deleted OR f.output OR EXISTS (
                SELECT 1 FROM jsonb_each_text(f.ids) AS k(key, value)
                JOIN item i ON i.provider_ids @> jsonb_build_object(k.key, k.value)
                WHERE i.server_id = srv.id AND i.gone_at IS NULL))
    )
    UPDATE webhook_event e
    SET status = 'done', error = c.note, processed_at = now()
    FROM copies c
    WHERE e.id = c.id AND e.status = 'pending'
    RETURNING e.id, e.error
    """
)


async def settle_copies(
    conn: AsyncConnection, settings: Settings | None, events: list[tuple[int, ItemFacts]], *, server_id: int | None
) -> dict[int, str]:
    """Mark the pending events that announce Marquee's own copies (see the module docstring) ``done``, in the
    caller's transaction; returns {event id: note} of those settled."""
    if not events:
        return {}
    facts = [
        {
            "id": event_id,
            "deleted": f.deleted,
            "item": f.item_id,
            "ids": f.provider_ids,
            "output": settings is not None and is_output_path(settings, f.path),
        }
        for event_id, f in events
    ]
    rows = await conn.execute(
        _SETTLE_COPIES,
        {"facts": json.dumps(facts), "server": server_id, "not_held": NOT_HELD, "a_copy": A_COPY},
    )
    return {int(r[0]): str(r[1]) for r in rows}


def content_hash(source: str, body: bytes) -> str:
    return hashlib.sha256(source.encode() + b"\0" + body).hexdigest()


def _clean(value: str | None, limit: int = 2000) -> str | None:
    """Postgres text cannot hold NUL; stored labels are capped so a hostile payload stays small."""
    if value is None:
        return None
    return value.replace("\x00", "\ufffd")[:limit]


def _storable_payload(payload: dict[str, Any] | None) -> str | None:
    """The payload as JSON text when JSONB can hold it (it refuses NaN, \\u0000 and lone surrogates); the raw
    body is kept either way."""
    if payload is None:
        return None
    try:
        encoded = json.dumps(payload, allow_nan=False, ensure_ascii=False)
        encoded.encode("utf-8")
    except (ValueError, TypeError, RecursionError, UnicodeEncodeError):
        return None
    return None if "\\u0000" in encoded else encoded


def _kept_headers(headers: dict[str, str]) -> dict[str, str | None]:
    return {k: _clean(v, 500) for k, v in headers.items() if k.lower() in KEPT_HEADERS}


def event_row(
    *,
    source: str,
    body: bytes,
    content_type: str | None,
    headers: dict[str, str],
    payload: dict[str, Any] | None,
    event: ParsedEvent | None,
    status: str,
    error: str | None = None,
) -> dict[str, Any]:
    """The ``webhook_event`` row for one request."""
    return {
        "source": source,
        "content_hash": content_hash(source, body),
        "event_type": event.event_type if event else None,
        "raw_type": _clean(event.raw_type if event else _raw_type_hint(payload), 200),
        "content_type": _clean(content_type, 200),
        "headers": json.dumps(_kept_headers(headers)),
        "body": body,
        "payload": _storable_payload(payload),
        "user_provider_id": event.user_id if event else None,
        "item_provider_id": event.item_id if event else None,
        "status": status,
        "error": _clean(error),
        "item_facts": item_facts(event, payload) if status == PENDING else None,
    }


def _raw_type_hint(payload: dict[str, Any] | None) -> str | None:
    if not payload:
        return None
    for key in ("NotificationType", "Event"):
        value = payload.get(key)
        if isinstance(value, str):
            return value
    return None


async def pending_event_ids(
    engine: AsyncEngine,
    *,
    older_than_s: float,
    after_id: int = 0,
    limit: int = 1000,
    max_attempts: int = MAX_ATTEMPTS,
) -> list[int]:
    """Pending events received more than ``older_than_s`` ago (their job was lost or is retrying)."""
    cutoff = datetime.now(UTC) - timedelta(seconds=older_than_s)
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT id FROM webhook_event WHERE status = 'pending' AND received_at <= :cutoff"
                " AND attempts < :max_attempts AND id > :after ORDER BY id LIMIT :limit"
            ),
            {"cutoff": cutoff, "limit": limit, "max_attempts": max_attempts, "after": after_id},
        )
        return [int(r[0]) for r in rows]


async def status_counts(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT status, count(*) FROM webhook_event GROUP BY status"))
        return {str(r[0]): int(r[1]) for r in rows}
