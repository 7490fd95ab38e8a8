"""Keeping the embedded PostgreSQL and Redis alive while Marquee runs.

A ``Supervisor`` thread looks at its servers every 0.2 s. A server that died is started again on the same
data and the same socket, at once the first time; a restart that fails, or a server that dies again soon
after coming back, waits 0.5 s, then twice as long each time, up to 30 s. Every death, failed attempt and
recovery is one log line. Clients need nothing special: redis-py opens a new connection on its next
command (the socket path does not change), SQLAlchemy's pool pre-pings, and the job worker waits out a
Redis outage (``sidecar.jobs.reconnecting``).

While a server is down, ``state()`` is "recovering" and ``/healthz`` says so. The embedded servers belong
to this process (the data-dir lock), so their state is the process's: ``state()`` covers every supervisor
(in practice one), and is None when this process supervises nothing (external PostgreSQL and Redis).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Literal, Protocol

log = logging.getLogger(__name__)

State = Literal["ok", "recovering"]

CHECK_INTERVAL_S = 0.2
FIRST_RETRY_S = 0.5
MAX_RETRY_S = 30.0
STABLE_AFTER_S = 30.0  # a server that dies sooner than this after a restart is restarted with back-off


class Supervised(Protocol):
    @property
    def name(self) -> str: ...

    def alive(self) -> bool: ...

    def death(self) -> str:
        """How it died, for the log (exit status, signal)."""
        ...

    def restart(self) -> None:
        """Start it again on the same data and address; raise if it did not come up."""
        ...


@dataclass
class _Track:
    delay_s: float = FIRST_RETRY_S
    back_at: float | None = None


@dataclass
class Supervisor:
    servers: list[Supervised]
    interval_s: float = CHECK_INTERVAL_S
    _stop: threading.Event = field(default_factory=threading.Event, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)
    _down: set[str] = field(default_factory=set, init=False)
    _tracks: dict[str, _Track] = field(default_factory=dict, init=False)

    @property
    def state(self) -> State:
        return "recovering" if self._down else "ok"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="marquee-supervisor", daemon=True)
        self._thread.start()
        with _lock:
            _running.append(self)

    def stop(self) -> None:
        """Stop watching (before the servers are stopped on purpose); waits for a restart under way."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        with _lock:
            if self in _running:
                _running.remove(self)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            if _standing_down.is_set():
                continue
            for server in self.servers:
                if not server.alive() and not self._stop.is_set():
                    self._recover(server)

    def _recover(self, server: Supervised) -> None:
        track = self._tracks.setdefault(server.name, _Track())
        self._down.add(server.name)
        died_at = time.monotonic()
        if track.back_at is not None and died_at - track.back_at < STABLE_AFTER_S:
            log.warning(
                "%s died again %.1fs after its restart (%s); restarting it in %.1fs",
                server.name,
                died_at - track.back_at,
                server.death(),
                track.delay_s,
            )
            if self._wait(track):
                return
        else:
            track.delay_s = FIRST_RETRY_S
            log.warning("%s died (%s); restarting it", server.name, server.death())
        attempt = 1
        while not self._stop.is_set():
            try:
                server.restart()
            except Exception as exc:
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                reason = reason.removeprefix(f"{server.name} ")
                log.warning(
                    "%s did not restart (attempt %d: %s); trying again in %.1fs",
                    server.name,
                    attempt,
                    reason,
                    track.delay_s,
                )
                attempt += 1
                if self._wait(track):
                    return
                continue
            track.back_at = time.monotonic()
            self._down.discard(server.name)
            log.info("%s is back after %.1fs (attempt %d)", server.name, track.back_at - died_at, attempt)
            return

    def _wait(self, track: _Track) -> bool:
        """Sleep the back-off (True if told to stop meanwhile) and double it for next time."""
        stopped = self._stop.wait(track.delay_s)
        track.delay_s = min(track.delay_s * 2, MAX_RETRY_S)
        return stopped


_lock = threading.Lock()
_running: list[Supervisor] = []
_standing_down = threading.Event()


def state() -> State | None:
    """The process's state: "recovering" while an embedded server is down, "ok", or None if none is supervised."""
    with _lock:
        supervisors = list(_running)
    if not supervisors:
        return None
    return "recovering" if any(s.state == "recovering" for s in supervisors) else "ok"


def running() -> list[Supervisor]:
    with _lock:
        return list(_running)


def stand_down() -> None:
    """The process is on its way out (SIGTERM): servers that die now were stopped on purpose (systemd signals
    the whole control group), so nothing is restarted any more."""
    _standing_down.set()
