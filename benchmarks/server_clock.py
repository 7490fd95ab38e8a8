"""How much of a benchmark's wall time the in-process simulator spent answering requests.

The simulator runs in the benchmark's own event loop, so the time inside its ASGI app is time Marquee's
side could not use: ``wall - server`` is Marquee's share (its own code, and waiting for PostgreSQL).
"""

from __future__ import annotations

import time
from typing import Any

from providers.simulator.state import Simulator


class ServerClock:
    def __init__(self, app: Any) -> None:
        self._app = app
        self.seconds = 0.0
        self.requests = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        try:
            await self._app(scope, receive, send)
        finally:
            self.seconds += time.perf_counter() - started
            self.requests += 1

    def lap(self) -> float:
        """Server seconds since the last lap."""
        seconds, self.seconds = self.seconds, 0.0
        return seconds

    @classmethod
    def install(cls, sim: Simulator) -> ServerClock:
        """Wrap the app ``sim`` serves (before ``serve_simulator``)."""
        clock = cls(sim.app)
        sim._app = clock  # type: ignore[assignment]  # the app property hands out what is stored here
        return clock
