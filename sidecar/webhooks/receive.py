"""``POST /webhooks/jellyfin`` and ``POST /webhooks/emby``: authenticate, store raw, enqueue, answer 202.

The endpoint never calls the media server and never acts on the payload itself: it checks the shared
secret, stores the request in ``webhook_event`` (de-duplicated on a content hash) and queues the
processing job. If Redis is down the event stays ``pending`` for the sweeper; if PostgreSQL is down the
answer is 503 so the sender retries. A body that cannot be understood is stored as ``rejected`` and
answered 400 with the reason.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from sidecar.errors import WebhookRejected
from sidecar.services import Services
from sidecar.webhooks import store, writer
from sidecar.webhooks.parse import ParsedEvent, Source, WebhookParseError, decode_body, parse_event

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1 << 20
STORE_TIMEOUT_S = 10.0


def _presented_token(request: Request) -> str | None:
    token = request.query_params.get("token")
    if token:
        return token
    header = request.headers.get("x-marquee-token")
    if header:
        return header.strip()
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return None


def _authenticate(request: Request, services: Services) -> None:
    presented = _presented_token(request) or ""
    expected = services.settings.secret_value("webhook_secret")
    if not hmac.compare_digest(presented.encode("utf-8", "surrogateescape"), expected.encode("utf-8")):
        raise WebhookRejected("", 401)


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise WebhookRejected(f"body larger than {MAX_BODY_BYTES} bytes", 413)
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise WebhookRejected(f"body larger than {MAX_BODY_BYTES} bytes", 413)
            chunks.append(chunk)
    except ClientDisconnect:
        raise WebhookRejected("the client disconnected before sending the whole body", 400) from None
    return b"".join(chunks)


def _parse(
    source: Source, body: bytes, content_type: str | None
) -> tuple[dict[str, Any] | None, ParsedEvent | None, str | None]:
    """(payload, event, error): the payload is kept even when the event cannot be read from it."""
    try:
        payload = decode_body(body, content_type)
    except WebhookParseError as exc:
        return None, None, str(exc)
    try:
        return payload, parse_event(source, payload), None
    except WebhookParseError as exc:
        return payload, None, str(exc)


async def receive(request: Request, source: Source) -> Response:
    services: Services = request.app.state.services
    _authenticate(request, services)
    body = await _read_body(request)
    content_type = request.headers.get("content-type")
    payload, event, error = _parse(source, body, content_type)
    if event is None:
        status = store.REJECTED
    elif event.action == "ignore":
        status = store.IGNORED
    else:
        status = store.PENDING
    try:
        row = store.event_row(
            source=source,
            body=body,
            content_type=content_type,
            headers=dict(request.headers),
            payload=payload,
            event=event,
            status=status,
            error=error or (event.ignore_reason if event else None),
        )
        stored = await asyncio.wait_for(writer.event_writer(services).store(row), STORE_TIMEOUT_S)
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        log.error("cannot store %s webhook: %s", source, exc)
        return JSONResponse(
            {"error": "Marquee cannot store webhooks right now (database unavailable); retry later"},
            status_code=503,
            headers={"Retry-After": "30"},
        )
    if event is None:
        raise WebhookRejected(error or "unreadable webhook", 400)
    if stored.duplicate:
        return JSONResponse({"status": "duplicate", "id": stored.id}, status_code=200)
    if status == store.IGNORED:
        return JSONResponse({"status": "ignored", "id": stored.id, "reason": event.ignore_reason}, status_code=202)
    return JSONResponse({"status": "accepted", "id": stored.id}, status_code=202)


async def jellyfin_webhook(request: Request) -> Response:
    return await receive(request, "jellyfin")


async def emby_webhook(request: Request) -> Response:
    return await receive(request, "emby")


def routes() -> list[BaseRoute]:
    """The webhook endpoints, for ``create_app`` to mount."""
    return [
        Route("/webhooks/jellyfin", jellyfin_webhook, methods=["POST"], name="webhook-jellyfin"),
        Route("/webhooks/emby", emby_webhook, methods=["POST"], name="webhook-emby"),
    ]
