"""The batched webhook writer on real PostgreSQL and Redis: a row the database refuses fails alone."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from sidecar.services import Services
from sidecar.sync import webhook_store as store
from sidecar.sync.webhook_store import EventWriter


def _row(n: int) -> dict[str, object]:
    body = f'{{"NotificationType": "PlaybackStop", "n": {n}}}'.encode()
    return store.event_row(
        source="jellyfin",
        body=body,
        content_type="application/json",
        headers={"content-type": "application/json"},
        payload={"NotificationType": "PlaybackStop", "n": n},
        event=None,
        status=store.IGNORED,
        error="test",
    )


async def test_a_refused_row_does_not_sink_its_batch(services: Services) -> None:
    writer = EventWriter(lambda: services.engine, lambda: services.redis)
    poison = {**_row(2), "headers": '{"not json'}  # stands for any row the database refuses
    results = await asyncio.gather(
        *(writer.store(row) for row in (_row(1), poison, _row(3))),  # type: ignore[arg-type]
        return_exceptions=True,
    )
    assert isinstance(results[1], Exception)
    assert all(isinstance(r, store.Stored) and not r.duplicate for r in (results[0], results[2]))
    async with services.engine.connect() as conn:
        kept = (await conn.execute(text("SELECT payload ->> 'n' FROM webhook_event ORDER BY id"))).scalars().all()
    assert kept == ["1", "3"]
