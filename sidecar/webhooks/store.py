"""The ``webhook_event`` table: raw requests stored before anything acts on them.

The receiver is the hot path: rows go through ``EventWriter``, which writes concurrent requests in one
multi-row insert. The content hash (source + body) makes a re-delivered request a no-op.

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

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from arq.connections import ArqRedis
from arq.constants import job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from sidecar.services import QUEUE_NAME, Services
from sidecar.settings import Settings
from sidecar.sync.libraries import is_output_path
from sidecar.webhooks.parse import ParsedEvent, payload_item_facts

log = logging.getLogger(__name__)

_TEXT_COLUMNS = (
    "source",
    "content_hash",
    "event_type",
    "raw_type",
    "content_type",
    "user_provider_id",
    "item_provider_id",
    "status",
    "error",
)
# One statement text for any batch size, and one JSON document for the whole batch: one C-speed dumps
# instead of a dozen text[] parameters that psycopg would escape element by element.
_INSERT_MANY = text(
    """
    INSERT INTO webhook_event (source, content_hash, event_type, raw_type, content_type, headers, body, payload,
                               user_provider_id, item_provider_id, status, error, attempts, received_at)
    SELECT source, content_hash, event_type, raw_type, content_type, headers, decode(body, 'hex'), payload,
           user_provider_id, item_provider_id, status, error, 0, clock_timestamp()
    FROM json_to_recordset(CAST(:rows AS json))
         AS t(source text, content_hash text, event_type text, raw_type text, content_type text, headers jsonb,
              body text, payload jsonb, user_provider_id text, item_provider_id text, status text, error text)
    ON CONFLICT (content_hash) DO NOTHING
    RETURNING content_hash, id
    """
)

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


_Waiting = tuple[dict[str, Any], "asyncio.Future[Stored]"]


def _unreachable(exc: BaseException) -> bool:
    """The database is down or gone (as opposed to refusing one row): retrying row by row would not help."""
    return isinstance(exc, (OSError, TimeoutError, OperationalError, InterfaceError)) or bool(
        getattr(exc, "connection_invalidated", False)
    )


def _fail(batch: list[_Waiting], exc: BaseException) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(exc)


class EventWriter:
    """Stores webhook rows in batches, then queues their jobs: requests arriving while a batch is written
    go into the next one, so a burst costs one transaction (one WAL flush) and one Redis round trip per
    batch instead of per request. Each caller gets its answer only after its row is committed."""

    def __init__(
        self,
        engine: Callable[[], AsyncEngine],
        redis: Callable[[], ArqRedis],
        max_batch: int = 256,
        settings: Settings | None = None,
    ) -> None:
        self._engine = engine
        self._redis = redis
        self._settings = settings
        self._max_batch = max_batch
        self._pending: list[_Waiting] = []
        self._task: asyncio.Task[None] | None = None

    async def store(self, row: dict[str, Any]) -> Stored:
        future: asyncio.Future[Stored] = asyncio.get_running_loop().create_future()
        self._pending.append((row, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain(), name="webhook-event-writer")
        return await future

    async def _drain(self) -> None:
        while self._pending:
            batch = self._pending[: self._max_batch]
            del self._pending[: self._max_batch]
            try:
                results = await self._write([row for row, _ in batch])
            except asyncio.CancelledError as exc:
                _fail(batch, exc)
                raise
            except Exception as exc:
                if len(batch) > 1 and not _unreachable(exc):
                    await self._write_one_by_one(batch)  # one row the database refuses must not sink the others
                else:
                    _fail(batch, exc)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)

    async def _write_one_by_one(self, batch: list[_Waiting]) -> None:
        for row, future in batch:
            try:
                (result,) = await self._write([row])
            except Exception as exc:
                _fail([(row, future)], exc)
            else:
                if not future.done():
                    future.set_result(result)

    async def _write(self, rows: list[dict[str, Any]]) -> list[Stored]:
        unique = list({row["content_hash"]: row for row in rows}.values())
        async with self._engine().begin() as conn:
            inserted = {str(r[0]): int(r[1]) for r in await conn.execute(_INSERT_MANY, {"rows": _batch_json(unique)})}
            missing = [row["content_hash"] for row in unique if row["content_hash"] not in inserted]
            existing = {}
            if missing:
                found = await conn.execute(
                    text("SELECT content_hash, id, status FROM webhook_event WHERE content_hash = ANY(:h)"),
                    {"h": missing},
                )
                existing = {str(r[0]): (int(r[1]), str(r[2])) for r in found}
            item_events = [
                (inserted[row["content_hash"]], row["item_facts"])
                for row in unique
                if row["content_hash"] in inserted and row.get("item_facts") is not None
            ]
            settled = await settle_copies(conn, self._settings, item_events, server_id=None)
        results: list[Stored] = []
        claimed: set[str] = set()
        for row in rows:
            digest = row["content_hash"]
            status = DONE if inserted.get(digest) in settled else row["status"]
            if digest in inserted and digest not in claimed:
                claimed.add(digest)
                results.append(Stored(inserted[digest], status, duplicate=False))
            elif digest in inserted:
                results.append(Stored(inserted[digest], status, duplicate=True))
            else:
                event_id, status = existing[digest]
                results.append(Stored(event_id, status, duplicate=True))
        # Queued only after the commit, so a job never looks for a row that is not there yet.
        await enqueue_events(self._redis(), [r.id for r in results if r.status == PENDING and not r.duplicate])
        return results


def _batch_json(rows: list[dict[str, Any]]) -> str:
    """The rows as one JSON array; ``headers`` and ``payload`` are already JSON text and are spliced in."""
    parts = []
    for row in rows:
        scalars = {c: _json_text(row[c]) for c in _TEXT_COLUMNS}
        scalars["body"] = row["body"].hex()
        head = json.dumps(scalars)
        parts.append(f'{head[:-1]},"headers":{row["headers"]},"payload":{row["payload"] or "null"}}}')
    return "[" + ",".join(parts) + "]"


def _json_text(value: str | None) -> str | None:
    """What a PostgreSQL text column can take from JSON: no NUL, no lone surrogate."""
    if value is None or (value.isascii() and "\x00" not in value):
        return value
    return value.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")


def event_writer(services: Services) -> EventWriter:
    if services.event_writer is None:
        services.event_writer = EventWriter(lambda: services.engine, lambda: services.redis, settings=services.settings)
    return services.event_writer


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


PROCESS_JOB = "process-webhook-event"

# arq's enqueue (skip a job id that is queued, running or has a result) for many jobs in one round trip.
# Kept on purpose instead of ``ArqRedis.enqueue_job``: arq enqueues one job per WATCH/MULTI transaction (a
# pooled connection and four round trips each), and ``asyncio.gather`` over those for each written batch
# cost the receiver about 30 % more CPU per request on bench_webhook_ingest (0.53 -> 0.65-0.81 ms/req,
# 636-723 -> 466-641 req/s, p50 20-24 -> 24-32 ms, on a shared 2-CPU box), well beyond the noise. The
# script writes exactly what ``enqueue_job`` writes (the job key with arq's serializer and expiry, the
# queue's sorted-set entry scored by enqueue time) under the same skip rule, so arq's worker reads these
# jobs like its own; keep it in step with arq's ``enqueue_job`` when upgrading arq.
_ENQUEUE_MANY = """
local queued = 0
local n = #KEYS / 2
for i = 1, n do
    if redis.call('exists', KEYS[i], KEYS[n + i]) == 0 then
        redis.call('psetex', KEYS[i], ARGV[1], ARGV[5 + 2 * (i - 1)])
        redis.call('zadd', ARGV[3], ARGV[2], ARGV[4 + 2 * (i - 1)])
        queued = queued + 1
    end
end
return queued
"""


def _job_id(event_id: int) -> str:
    return f"webhook:{event_id}"


async def enqueue_events(redis: ArqRedis, event_ids: list[int], *, timeout_s: float = 1.0) -> bool:
    """Queue the processing jobs of several events at once; False when Redis did not take them (the
    sweeper will)."""
    if not event_ids:
        return True
    now_ms = int(time.time() * 1000)
    job_ids = [_job_id(i) for i in event_ids]
    payloads = [
        serialize_job(PROCESS_JOB, (), {"event_id": i}, None, now_ms, serializer=redis.job_serializer)
        for i in event_ids
    ]
    keys = [job_key_prefix + j for j in job_ids] + [result_key_prefix + j for j in job_ids]
    args: list[Any] = [redis.expires_extra_ms, now_ms, QUEUE_NAME]
    for job_id, payload in zip(job_ids, payloads, strict=True):
        args.extend((job_id, payload))
    try:
        await asyncio.wait_for(redis.eval(_ENQUEUE_MANY, len(keys), *keys, *args), timeout_s)  # type: ignore[arg-type]
    except (RedisError, OSError, TimeoutError) as exc:
        log.warning("%d webhook events stored but not queued (%s); the sweeper will queue them", len(event_ids), exc)
        return False
    return True


async def enqueue_event(redis: ArqRedis, event_id: int, *, timeout_s: float = 1.0) -> bool:
    return await enqueue_events(redis, [event_id], timeout_s=timeout_s)
