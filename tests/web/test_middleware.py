"""Edges of every request on a real uvicorn: a body that never arrives is answered 408 (raw sockets, a short
deadline so nothing waits 10 s), and every kind of response carries the security headers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from sidecar.app import create_app
from sidecar.db.engine import make_engine
from sidecar.settings import Settings
from sidecar.web import auth
from sidecar.web.middleware import BODY_TIMEOUT_S, CONTENT_SECURITY_POLICY, BodyTimeoutMiddleware
from tests.servers import free_port, serve
from tests.web.conftest import Web

DEADLINE_S = 1.0
SECRET = "test-webhook-secret"  # tests/conftest.py's settings
STOP_JF = (Path(__file__).resolve().parents[2] / "examples/webhooks/jellyfin/playback-stop.json").read_bytes()
EXPECTED_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "content-security-policy": CONTENT_SECURITY_POLICY,
}


@pytest.fixture
async def quick(settings: Settings, clean_db: AsyncEngine, clean_redis: str) -> AsyncIterator[tuple[str, int]]:
    """Marquee (no worker, no media server) on uvicorn with a body deadline of DEADLINE_S; (host, port)."""
    app: Starlette = create_app(settings, run_worker=False, body_timeout_s=DEADLINE_S)
    port = free_port()
    async with serve(app, port=port):
        yield "127.0.0.1", port


async def _exchange(host: str, port: int, head: bytes, pieces: list[tuple[float, bytes]]) -> tuple[bytes, float]:
    """Send ``head``, then each (pause, bytes) piece; read until the server closes. (response, seconds taken)."""
    reader, writer = await asyncio.open_connection(host, port)
    began = time.monotonic()
    try:
        writer.write(head)
        await writer.drain()
        for pause, piece in pieces:
            await asyncio.sleep(pause)
            writer.write(piece)
            await writer.drain()
        response = await asyncio.wait_for(reader.read(), timeout=5)  # to EOF: the server must close
        return response, time.monotonic() - began
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):  # the server closed first and refused the last write
            await writer.wait_closed()


def _request(path: str, content_type: str, length: int) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def _split(response: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = response.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


@pytest.mark.parametrize(
    ("path", "content_type", "partial"),
    [
        (f"/webhooks/jellyfin?token={SECRET}", "application/json", b'{"NotificationType": '),
        ("/api/auth/login", "application/json", b'{"name": "al'),
        ("/login", "application/x-www-form-urlencoded", b"csrf_token=abc&name=al"),
    ],
)
async def test_a_body_that_stops_arriving_is_answered_408_and_the_connection_closed(
    quick: tuple[str, int], path: str, content_type: str, partial: bytes
) -> None:
    host, port = quick
    response, took = await _exchange(host, port, _request(path, content_type, 100) + partial, [])
    status, headers, body = _split(response)
    assert status == 408, response[:300]
    assert DEADLINE_S <= took < DEADLINE_S + 2
    message = f"The request body did not arrive within {DEADLINE_S:g} s."
    assert json.loads(body) == {"error": {"code": "request_timeout", "message": message}}
    assert headers["connection"] == "close"
    assert {k: headers.get(k) for k in EXPECTED_HEADERS} == EXPECTED_HEADERS


async def test_trickling_a_byte_at_a_time_does_not_reset_the_deadline(quick: tuple[str, int]) -> None:
    """A byte every tenth of the deadline, then silence: the waiting adds up, so the answer comes one deadline
    after the headers (a clock reset by every byte would answer only after the last byte plus a deadline)."""
    host, port = quick
    pieces = [(DEADLINE_S / 10, b" ")] * 9  # the last byte leaves at 0.9 deadlines, before the cut-off
    head = _request(f"/webhooks/jellyfin?token={SECRET}", "application/json", 100) + b"{"
    response, took = await _exchange(host, port, head, pieces)
    assert _split(response)[0] == 408, response[:300]
    assert DEADLINE_S <= took < 1.5 * DEADLINE_S


async def test_a_body_that_arrives_in_pieces_within_the_deadline_is_served(quick: tuple[str, int]) -> None:
    host, port = quick
    body = STOP_JF
    thirds = [body[: len(body) // 3], body[len(body) // 3 : 2 * len(body) // 3], body[2 * len(body) // 3 :]]
    head = _request(f"/webhooks/jellyfin?token={SECRET}", "application/json", len(body)).replace(
        b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"
    )
    response, _ = await _exchange(host, port, head, [(DEADLINE_S / 8, piece) for piece in thirds])
    status, _, answer = _split(response)
    assert status == 202, response[:300]
    assert json.loads(answer)["status"] == "accepted"


def test_the_deadline_is_ten_seconds_unless_lowered(settings: Settings) -> None:
    assert BODY_TIMEOUT_S == 10.0
    app = create_app(settings, run_worker=False)
    timeouts = [m.kwargs.get("timeout_s") for m in app.user_middleware if m.cls is BodyTimeoutMiddleware]
    assert timeouts == [10.0]


async def test_every_kind_of_response_carries_the_security_headers(web: Web) -> None:
    anonymous = web.client()
    alice = await web.login("alice")
    responses = {
        "login page": await anonymous.get("/login"),
        "redirect to login": await anonymous.get("/picks"),
        "user page": await alice.get("/picks"),
        "404 page": await alice.get("/no-such-page"),
        "403 page": await alice.get("/admin/settings"),
        "health": await anonymous.get("/healthz"),
        "API 401": await anonymous.get("/api/me"),
        "API 200": await alice.get("/api/me"),
        "API 405": await alice.delete("/api/picks"),
        "webhook 401": await anonymous.post("/webhooks/jellyfin", content=STOP_JF),
        "stylesheet": await anonymous.get("/static/marquee.css"),
        "script": await anonymous.get("/static/marquee.js"),
        "missing static file": await anonymous.get("/static/nothing.js"),
    }
    expected_status = {"redirect to login": 303, "404 page": 404, "403 page": 403, "API 401": 401, "API 405": 405}
    expected_status |= {"webhook 401": 401, "missing static file": 404, "health": 503}  # no worker: degraded
    for name, response in responses.items():
        assert response.status_code == expected_status.get(name, 200), (name, response.text[:200])
        assert {k: response.headers.get(k) for k in EXPECTED_HEADERS} == EXPECTED_HEADERS, name
    assert responses["stylesheet"].headers["content-type"].startswith("text/css")
    assert "javascript" in responses["script"].headers["content-type"]


async def test_the_500_page_carries_the_security_headers_too(web: Web) -> None:
    """A 500 is sent by Starlette's outermost middleware, outside the app's own: checked separately."""
    client = web.client()
    client.cookies.set(auth.SESSION_COOKIE, auth._serializer(web.settings).dumps("some-session"))
    dead = make_engine(f"postgresql+psycopg://marquee@127.0.0.1:{free_port()}/none")
    web.services.sessions.configure(bind=dead)  # the session lookup of every request now fails
    try:
        page = await client.get("/picks")
        api = await client.get("/api/me")
    finally:
        web.services.sessions.configure(bind=web.services.engine)
        await dead.dispose()
    assert page.status_code == 500 and "Internal error" in page.text
    assert api.status_code == 500 and api.json() == {
        "error": {"code": "internal_error", "message": "Internal error; the server log has the details."}
    }
    for response in (page, api):
        assert {k: response.headers.get(k) for k in EXPECTED_HEADERS} == EXPECTED_HEADERS


async def test_a_path_id_too_long_for_an_integer_is_404_not_500(web: Web) -> None:
    alice, _ = await web.api_login("alice")
    huge = "9" * 5000
    for path in (f"/api/items/{huge}", f"/api/channels/{huge}", f"/items/{huge}", f"/images/items/{huge}"):
        response = await alice.get(path)
        assert response.status_code == 404, (path[:30], response.status_code)
    assert (await alice.get("/api/items/9999999999")).status_code == 404  # ten digits, beyond INTEGER
    assert (await alice.get("/api/items/99999999999")).status_code == 404  # eleven: not an id at all
