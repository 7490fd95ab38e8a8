"""Serving an ASGI app with a real uvicorn on 127.0.0.1 and a free port, inside the test's event loop."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import uvicorn


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def serve(app: Any, *, port: int | None = None, lifespan: str = "on") -> AsyncIterator[str]:
    port = port or free_port()
    # proxy_headers=False as in `marquee serve`: X-Forwarded-For is the app's business (MARQUEE_TRUSTED_PROXIES).
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan=lifespan, proxy_headers=False
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started or task.done():
            break
        await asyncio.sleep(0.02)
    if task.done() or not server.started:
        with contextlib.suppress(BaseException):
            await task
        raise RuntimeError("uvicorn did not start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
