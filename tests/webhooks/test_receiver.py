"""The webhook receiver on a real uvicorn with real PostgreSQL and Redis."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlencode

from arq.connections import ArqRedis
from sqlalchemy import text

from sidecar.db.engine import make_engine
from tests.servers import free_port
from tests.webhooks.conftest import SECRET, Receiver

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "webhooks"
STOP_JF = (EXAMPLES / "jellyfin/playback-stop.json").read_bytes()
STOP_EMBY = (EXAMPLES / "emby/playback.stop.json").read_bytes()


async def _rows(receiver: Receiver) -> list[dict[str, object]]:
    async with receiver.services.engine.connect() as conn:
        result = await conn.execute(
            text("SELECT id, source, status, event_type, error, item_provider_id FROM webhook_event ORDER BY id")
        )
        return [dict(r._mapping) for r in result]


async def test_wrong_or_missing_secret_is_401_without_detail(receiver: Receiver) -> None:
    for url, headers in [
        ("/webhooks/jellyfin", {}),
        ("/webhooks/jellyfin?token=nope", {}),
        ("/webhooks/emby", {"X-Marquee-Token": "nope"}),
        ("/webhooks/emby", {"Authorization": "Bearer nope"}),
    ]:
        response = await receiver.client.post(url, content=STOP_JF, headers=headers)
        assert response.status_code == 401
        assert response.json() == {"error": ""}
    assert await _rows(receiver) == []


async def test_each_way_of_presenting_the_secret(receiver: Receiver) -> None:
    doc = json.loads(STOP_JF)
    for n, (url, headers) in enumerate(
        [
            (f"/webhooks/jellyfin?token={SECRET}", {}),
            ("/webhooks/jellyfin", {"X-Marquee-Token": SECRET}),
            ("/webhooks/jellyfin", {"Authorization": f"Bearer {SECRET}"}),
        ]
    ):
        doc["UtcTimestamp"] = f"2026-05-09T20:47:0{n}.0000000Z"
        response = await receiver.client.post(url, content=json.dumps(doc), headers=headers)
        assert response.status_code == 202, response.text


async def test_accepted_event_is_stored_pending_and_queued_once(receiver: Receiver) -> None:
    url = f"/webhooks/jellyfin?token={SECRET}"
    response = await receiver.client.post(url, content=STOP_JF, headers={"Content-Type": "text/plain; charset=utf-8"})
    assert response.status_code == 202
    event_id = response.json()["id"]
    rows = await _rows(receiver)
    assert rows[0]["status"] == "pending" and rows[0]["event_type"] == "playback.stop"
    assert rows[0]["item_provider_id"] == "5d0c7e2a1b9f4c8e8a3d6b4f2e1c0a97"
    assert await receiver.queued() == [f"webhook:{event_id}"]

    again = await receiver.client.post(url, content=STOP_JF)
    assert again.status_code == 200 and again.json() == {"status": "duplicate", "id": event_id}
    assert len(await _rows(receiver)) == 1
    assert await receiver.queued() == [f"webhook:{event_id}"]


async def test_every_transport_emby_uses(receiver: Receiver) -> None:
    url = f"/webhooks/emby?token={SECRET}"
    doc = json.loads(STOP_EMBY)
    bodies = []
    for n in range(3):
        doc["Date"] = f"2026-05-09T20:47:0{n}.0120000Z"
        bodies.append(json.dumps(doc))
    multipart = await receiver.client.post(url, files={"data": (None, bodies[0])})
    form = await receiver.client.post(
        url, content=urlencode({"data": bodies[1]}), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    plain = await receiver.client.post(url, content=bodies[2], headers={"Content-Type": "application/json"})
    assert [multipart.status_code, form.status_code, plain.status_code] == [202, 202, 202]
    assert [r["item_provider_id"] for r in await _rows(receiver)] == ["2417"] * 3


async def test_malformed_body_is_400_with_reason_and_kept(receiver: Receiver) -> None:
    response = await receiver.client.post(
        f"/webhooks/emby?token={SECRET}", content=b'{"Event": "playback.stop", "User": 3'
    )
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]
    missing = await receiver.client.post(
        f"/webhooks/jellyfin?token={SECRET}", content=json.dumps({"NotificationType": "PlaybackStop", "ItemId": "1"})
    )
    assert missing.status_code == 400 and "no user id" in missing.json()["error"]
    rows = await _rows(receiver)
    assert [r["status"] for r in rows] == ["rejected", "rejected"]
    assert "not valid JSON" in str(rows[0]["error"])
    assert await receiver.queued() == []


async def test_oversized_body_is_413(receiver: Receiver) -> None:
    response = await receiver.client.post(f"/webhooks/jellyfin?token={SECRET}", content=b"{" + b" " * (1 << 20) + b"}")
    assert response.status_code == 413
    assert await _rows(receiver) == []


async def test_unknown_and_noisy_events_are_stored_as_ignored(receiver: Receiver) -> None:
    for body in [
        json.dumps({"NotificationType": "PluginInstalled", "ServerId": "x"}),
        (EXAMPLES / "jellyfin/userdata-saved-progress.json").read_text(),
    ]:
        response = await receiver.client.post(f"/webhooks/jellyfin?token={SECRET}", content=body)
        assert response.status_code == 202 and response.json()["status"] == "ignored"
    assert [r["status"] for r in await _rows(receiver)] == ["ignored", "ignored"]
    assert await receiver.queued() == []


async def test_redis_down_still_202_and_pending(receiver: Receiver) -> None:
    services = receiver.services
    real = services.redis
    services.redis = ArqRedis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.2)
    try:
        response = await receiver.client.post(f"/webhooks/jellyfin?token={SECRET}", content=STOP_JF)
    finally:
        await services.redis.aclose()
        services.redis = real
    assert response.status_code == 202
    assert response.elapsed.total_seconds() < 2
    assert [r["status"] for r in await _rows(receiver)] == ["pending"]
    assert await receiver.queued() == []


async def test_database_down_is_503_so_the_sender_retries(receiver: Receiver) -> None:
    services = receiver.services
    real = services.engine
    services.engine = make_engine(f"postgresql+psycopg://marquee@127.0.0.1:{free_port()}/none")
    try:
        response = await receiver.client.post(f"/webhooks/emby?token={SECRET}", content=STOP_EMBY)
    finally:
        await services.engine.dispose()
        services.engine = real
    assert response.status_code == 503
    assert response.headers["retry-after"] == "30"
    assert await _rows(receiver) == []


async def test_odd_text_is_stored_faithfully_or_made_safe(receiver: Receiver) -> None:
    """Quotes, backslashes, non-ASCII and JSON-looking text survive the batch insert; NUL and lone surrogates
    (which PostgreSQL text and JSONB refuse) are replaced in labels, and the raw body is kept byte for byte."""
    url = f"/webhooks/jellyfin?token={SECRET}"
    odd = 'Amélie "Le" \\ fabuleux }],{"x":1} 東京 \U0001f3ac'
    doc = json.loads(STOP_JF)
    doc["Name"] = odd
    doc["NotificationType"] = "Odd\x00Type\ud800"  # unknown: stored as ignored, its label cleaned
    bodies = [json.dumps(doc).encode(), json.dumps({**json.loads(STOP_JF), "Name": odd}, ensure_ascii=False).encode()]
    for body in bodies:
        response = await receiver.client.post(url, content=body, headers={"Content-Type": "application/json"})
        assert response.status_code in (202, 400), response.text
    async with receiver.services.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT body, payload, raw_type, status FROM webhook_event ORDER BY id"))).all()
    assert [bytes(r.body) for r in rows] == bodies
    assert rows[0].raw_type == "Odd\ufffdType?" and rows[0].status == "ignored"
    assert rows[1].payload["Name"] == odd and rows[1].status == "pending"


async def test_huge_integers_and_out_of_range_ticks_are_400_kept_and_never_queued(receiver: Receiver) -> None:
    """A 5,000-digit number (beyond Python's int-conversion limit) and ticks a BIGINT cannot hold are refused at
    parse with a message, stored as rejected for the admin to see, and never reach a job."""
    url = f"/webhooks/jellyfin?token={SECRET}"
    stop = json.loads(STOP_JF)
    cases = [
        (
            STOP_JF.replace(b'"PlaybackPositionTicks": 63900000000', b'"PlaybackPositionTicks": ' + b"9" * 5000),
            "number with 5000 digits",
        ),
        (json.dumps({**stop, "PlaybackPositionTicks": 2**63}).encode(), "between 0 and 9223372036854775807"),
        (json.dumps({**stop, "PlaybackPositionTicks": -1}).encode(), "between 0 and 9223372036854775807"),
        (json.dumps({**stop, "PlaybackPositionTicks": str(2**64)}).encode(), "between 0 and 9223372036854775807"),
    ]
    assert b"9" * 5000 in cases[0][0]
    for body, message in cases:
        response = await receiver.client.post(url, content=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 400, response.text
        assert message in response.json()["error"]
    emby = json.loads(STOP_EMBY)
    emby["PlaybackInfo"]["PositionTicks"] = 2**63
    response = await receiver.client.post(f"/webhooks/emby?token={SECRET}", content=json.dumps(emby))
    assert response.status_code == 400 and "PlaybackInfo.PositionTicks" in response.json()["error"]
    rows = await _rows(receiver)
    assert [r["status"] for r in rows] == ["rejected"] * 5
    assert "number with 5000 digits" in str(rows[0]["error"])
    assert await receiver.queued() == []
