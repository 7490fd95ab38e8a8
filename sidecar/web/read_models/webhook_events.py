"""Received webhook events (normalised facts only, never headers or body) and counts by status."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from sidecar.db.models import AppUser, Item, WebhookEvent
from sidecar.web.read_models.shared import iso


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


async def webhook_events(session: AsyncSession, *, status: str | None, limit: int) -> list[dict[str, Any]]:
    query = select(WebhookEvent)
    if status is not None:
        query = query.where(WebhookEvent.status == status)
    rows = (
        await session.exec(
            query.order_by(col(WebhookEvent.received_at).desc(), col(WebhookEvent.id).desc()).limit(limit)
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
        }
        for e in rows
    ]


async def webhook_status_counts(session: AsyncSession) -> dict[str, int]:
    rows = (await session.exec(select(WebhookEvent.status, func.count()).group_by(WebhookEvent.status))).all()
    counts: dict[str, int] = defaultdict(int)
    for status, count in rows:
        counts[status] = int(count)
    return dict(counts)
