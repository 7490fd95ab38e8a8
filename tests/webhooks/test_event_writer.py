"""The batched webhook writer on real PostgreSQL and Redis: a row the database refuses fails alone; the
server's announcements of Marquee's own copies are settled in the same transaction, without a job."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from sqlalchemy import text

from sidecar.services import Services
from sidecar.webhooks import store
from sidecar.webhooks.parse import parse_event
from sidecar.webhooks.writer import EventWriter
from tests.webhooks.conftest import SECRET, Receiver


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


EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "webhooks"
SOURCE_TMDB = "503919"  # the title of the example payloads


async def _server_with_title(services: Services, provider_id: str = "source1") -> None:
    """A media server row holding one live movie with the examples' Tmdb/Imdb ids."""
    async with services.engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO media_server (kind, url, name, settings, last_seen_at)"
                " VALUES ('Jellyfin', 'u', 's', '{}', now())"
            )
        )
        await conn.execute(
            text(
                "INSERT INTO item (server_id, provider_id, kind, name, genres, tags, studios, people, provider_ids,"
                " image_tags) SELECT id, :p, 'Movie', 'The Lighthouse Keeper', '[]', '[]', '[]', '[]',"
                " CAST(:ids AS jsonb), '{}' FROM media_server"
            ),
            {"p": provider_id, "ids": json.dumps({"Tmdb": SOURCE_TMDB, "Imdb": "tt7984734"})},
        )


async def _events(receiver: Receiver) -> list[tuple[str, str, str | None]]:
    async with receiver.services.engine.connect() as conn:
        rows = await conn.execute(text("SELECT item_provider_id, status, error FROM webhook_event ORDER BY id"))
        return [(str(r[0]), str(r[1]), r[2]) for r in rows]


async def _post(receiver: Receiver, source: str, doc: dict[str, Any]) -> None:
    response = await receiver.client.post(f"/webhooks/{source}?token={SECRET}", content=json.dumps(doc))
    assert response.status_code == 202, response.text


async def test_copies_announced_by_the_server_are_settled_at_ingest_without_a_job(receiver: Receiver) -> None:
    services = receiver.services
    await _server_with_title(services)
    added = json.loads((EXAMPLES / "jellyfin/item-added.json").read_text())
    deleted = json.loads((EXAMPLES / "jellyfin/item-deleted.json").read_text())
    emby = json.loads((EXAMPLES / "emby/library.new.json").read_text())
    output = (
        services.settings.resolved_strm_root / "AI Picks - alice" / "Night Train (2001)" / "Night Train (2001).strm"
    )

    # Jellyfin: ItemAdded carries no path; a copy shares a provider id with the live source title.
    await _post(receiver, "jellyfin", {**added, "ItemId": "c0ffee01"})
    # ItemDeleted of an item Marquee never held (a copy the server dropped).
    await _post(receiver, "jellyfin", {**deleted, "ItemId": "c0ffee02"})
    # Emby sends paths: anything in Marquee's output is a copy, whatever its ids.
    await _post(
        receiver, "emby", {**emby, "Item": {**emby["Item"], "Id": "9001", "Path": str(output), "ProviderIds": {}}}
    )
    assert await receiver.queued() == []
    copy, gone, in_output = await _events(receiver)
    assert copy == ("c0ffee01", "done", store.A_COPY)
    assert gone == ("c0ffee02", "done", store.NOT_HELD)
    assert in_output == ("9001", "done", store.A_COPY)

    # What is not a copy still gets its job: a new title, the deletion of a title Marquee holds, and an item
    # Marquee holds announced again.
    new = {**added, "ItemId": "c0ffee03", "Provider_tmdb": "1", "Provider_imdb": "tt1"}
    await _post(receiver, "jellyfin", new)
    await _post(receiver, "jellyfin", {**deleted, "ItemId": "source1", "UtcTimestamp": "2026-05-09T22:11:00Z"})
    await _post(receiver, "jellyfin", {**added, "ItemId": "source1", "UtcTimestamp": "2026-05-09T22:12:00Z"})
    rows = await _events(receiver)
    assert [r[1] for r in rows[3:]] == ["pending", "pending", "pending"]
    assert len(await receiver.queued()) == 3


async def test_the_job_applies_the_same_rule_to_an_event_stored_before(services: Services) -> None:
    """An item event that reached a job (stored by an older version, or before the server row existed) is
    settled by the same rule, without asking the media server."""
    await _server_with_title(services)
    added = json.loads((EXAMPLES / "jellyfin/item-added.json").read_text())
    async with services.engine.begin() as conn:
        event_id = (
            await conn.execute(
                text(
                    "INSERT INTO webhook_event (source, content_hash, event_type, raw_type, headers, body, payload,"
                    " item_provider_id, status, attempts) VALUES ('jellyfin', 'h1', 'item.added', 'ItemAdded', '{}',"
                    " :body, CAST(:payload AS jsonb), 'c0ffee04', 'pending', 0) RETURNING id"
                ),
                {"body": json.dumps({**added, "ItemId": "c0ffee04"}).encode(), "payload": json.dumps(added)},
            )
        ).scalar_one()
    event = parse_event("jellyfin", {**added, "ItemId": "c0ffee04"})
    facts = store.item_facts(event, {**added, "ItemId": "c0ffee04"})
    assert facts is not None
    async with services.engine.begin() as conn:
        settled = await store.settle_copies(conn, services.settings, [(event_id, facts)], server_id=None)
    assert settled == {event_id: store.A_COPY}
