"""Received webhook events (normalised facts only, never headers or body), filtered and paged, and counts.

Marquee's own copies (the server announcing each STRM entry a republish added or dropped, settled at ingest
by ``sidecar.webhooks.store.settle_copies``) are hidden unless asked for (``own=True``): after a publish they
are most of the log and tell the admin nothing.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from sidecar.db.models import AppUser, Item, WebhookEvent
from sidecar.web.read_models.shared import iso
from sidecar.webhooks.store import A_COPY, DONE, NOT_HELD

OWN_COPY_NOTES = (NOT_HELD, A_COPY)
UNKNOWN_TYPE = "unknown"  # events whose type could not be read


def webhook_view(event: WebhookEvent) -> dict[str, Any]:
    """The normalised facts of a webhook request; never its headers or body (they may hold the secret)."""
    return {
        "id": event.id,
        "source": event.source,
        "event_type": event.event_type,
        "raw_type": event.raw_type,
        "user_provider_id": event.user_provider_id,
        "item_provider_id": event.item_provider_id,
        "status": event.status,
        "error": event.error,
        "attempts": event.attempts,
        "received_at": iso(event.received_at),
        "processed_at": iso(event.processed_at),
    }


def _filtered(query: Any, *, status: str | None, event_type: str | None, own: bool) -> Any:
    if status is not None:
        query = query.where(WebhookEvent.status == status)
    if event_type == UNKNOWN_TYPE:
        query = query.where(col(WebhookEvent.event_type).is_(None))
    elif event_type is not None:
        query = query.where(WebhookEvent.event_type == event_type)
    if not own:
        query = query.where(
            or_(
                col(WebhookEvent.status) != DONE,
                col(WebhookEvent.error).is_(None),
                col(WebhookEvent.error).not_in(OWN_COPY_NOTES),
            )
        )
    return query


async def webhook_events(
    session: AsyncSession,
    *,
    status: str | None,
    limit: int,
    offset: int = 0,
    event_type: str | None = None,
    own: bool = True,
) -> list[dict[str, Any]]:
    query = _filtered(select(WebhookEvent), status=status, event_type=event_type, own=own)
    rows = (
        await session.exec(
            query.order_by(col(WebhookEvent.received_at).desc(), col(WebhookEvent.id).desc())
            .offset(offset)
            .limit(limit)
        )
    ).all()
    user_ids = {e.user_provider_id for e in rows if e.user_provider_id}
    item_ids = {e.item_provider_id for e in rows if e.item_provider_id}
    users = {
        u.provider_id: u.name
        for u in (await session.exec(select(AppUser).where(col(AppUser.provider_id).in_(user_ids)))).all()
    }
    items = {
        i.provider_id: i.name
        for i in (await session.exec(select(Item).where(col(Item.provider_id).in_(item_ids)))).all()
    }
    return [
        {
            **webhook_view(e),
            "user_name": users.get(e.user_provider_id or ""),
            "item_name": items.get(e.item_provider_id or ""),
            "own_copy": e.status == DONE and e.error in OWN_COPY_NOTES,
        }
        for e in rows
    ]


async def webhook_total(session: AsyncSession, *, status: str | None, event_type: str | None, own: bool) -> int:
    query = _filtered(select(func.count()).select_from(WebhookEvent), status=status, event_type=event_type, own=own)
    return int((await session.exec(query)).one())


async def webhook_type_counts(session: AsyncSession) -> dict[str, int]:
    """Events per type (``event_type``; unparsed ones under "unknown"), for the type filter."""
    rows = (await session.exec(select(WebhookEvent.event_type, func.count()).group_by(WebhookEvent.event_type))).all()
    return {str(kind or UNKNOWN_TYPE): int(count) for kind, count in sorted(rows, key=lambda r: str(r[0] or ""))}


async def own_copy_count(session: AsyncSession) -> int:
    query = (
        select(func.count())
        .select_from(WebhookEvent)
        .where(WebhookEvent.status == DONE, col(WebhookEvent.error).in_(OWN_COPY_NOTES))
    )
    return int((await session.exec(query)).one())


async def webhook_status_counts(session: AsyncSession) -> dict[str, int]:
    rows = (await session.exec(select(WebhookEvent.status, func.count()).group_by(WebhookEvent.status))).all()
    counts: dict[str, int] = defaultdict(int)
    for status, count in rows:
        counts[status] = int(count)
    return dict(counts)
