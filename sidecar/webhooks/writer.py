"""``EventWriter``: the receiver's rows written in batches (one multi-row insert from one JSON document per
batch), settled at ingest (``store.settle_copies``), then their jobs queued (``enqueue.enqueue_events``)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from arq.connections import ArqRedis
from sqlalchemy import text
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from sidecar.services import Services
from sidecar.settings import Settings
from sidecar.webhooks.enqueue import enqueue_events
from sidecar.webhooks.store import DONE, PENDING, Stored, settle_copies

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
