"""Pure ASGI middleware every request passes through: a deadline for the request body, security headers.

- ``BodyTimeoutMiddleware``: a client that sends headers and then stalls (``Content-Length: 100``, three
  bytes, silence) would otherwise hold a handler awaiting ``receive()`` for ever. The time the app spends
  waiting for body bytes is added up per request; past ``timeout_s`` (10 s, ``BODY_TIMEOUT_S``) the
  request is answered ``408`` and its connection closed. Trickling a byte every few seconds does not
  reset the clock. Once the body is complete, ``receive()`` is left alone (waiting for a disconnect is
  normal then).
- ``SecurityHeadersMiddleware``: every response (pages, JSON API, webhooks, errors, static files) gets
  ``SECURITY_HEADERS``: no MIME sniffing, no framing (``X-Frame-Options`` and CSP ``frame-ancestors``),
  a same-origin referrer, and a Content Security Policy that allows only Marquee's own scripts, styles,
  images and fetches — no inline script or style, which the templates do not use
  (``static/marquee.js`` and ``static/marquee.css`` hold them). A header the app set itself is kept.

The 500 page comes from Starlette's outermost ``ServerErrorMiddleware``, outside these; ``create_app``'s
error handler adds ``SECURITY_HEADERS`` to it itself.
"""

from __future__ import annotations

import asyncio
import json
import logging

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

BODY_TIMEOUT_S = 10.0

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS: dict[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
}


class BodyTimeout(Exception):
    """The request body did not arrive in time (raised from ``receive`` into the app, answered 408 here).

    Code that reads a body must let it pass (no ``except Exception`` around ``request.body()``/``form()``)."""


class BodyTimeoutMiddleware:
    def __init__(self, app: ASGIApp, timeout_s: float = BODY_TIMEOUT_S) -> None:
        self.app = app
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        left = self.timeout_s
        body_done = False
        started = False

        async def timed_receive() -> Message:
            nonlocal left, body_done
            if body_done:
                return await receive()
            began = loop.time()
            try:
                if left <= 0:
                    raise TimeoutError
                async with asyncio.timeout(left):
                    message = await receive()
            except TimeoutError:
                raise BodyTimeout from None
            left -= loop.time() - began
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, timed_receive, watched_send)
        except BodyTimeout:
            client = scope.get("client")
            log.warning(
                "%s %s: the request body did not arrive within %g s (from %s)",
                scope.get("method"),
                scope.get("path"),
                self.timeout_s,
                client[0] if client else "unknown",
            )
            if started:
                return
            message = f"The request body did not arrive within {self.timeout_s:g} s."
            body = json.dumps({"error": {"code": "request_timeout", "message": message}}).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 408,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                        (b"connection", b"close"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                add_security_headers(MutableHeaders(scope=message))
            await send(message)

        await self.app(scope, receive, send_with_headers)


def add_security_headers(headers: MutableHeaders) -> None:
    """``SECURITY_HEADERS`` on a response, keeping any the app set itself."""
    for name, value in SECURITY_HEADERS.items():
        if name not in headers:
            headers[name] = value
