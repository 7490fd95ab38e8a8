"""Turning settings into running infrastructure: embedded or external PostgreSQL and Redis.

``prepare_infrastructure`` is synchronous (it may start servers, and supervises the ones it started);
``check_*`` functions wait out a server that is still starting, then turn a connection failure into one
``ConfigError`` line naming the real cause: the setting to fix, or the embedded server when none is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import sys
import threading
import time
from collections.abc import Iterator
from types import FrameType
from typing import TYPE_CHECKING

from sidecar import supervisor
from sidecar.embedded import DataDirLock, Infrastructure, to_sqlalchemy_url
from sidecar.embedded_postgres import EmbeddedPostgres
from sidecar.embedded_redis import EmbeddedRedis, embedded_redis_dir
from sidecar.errors import ConfigError
from sidecar.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

REDIS_LOADING_WAIT_S = 120.0
POSTGRES_STARTING_WAIT_S = 60.0


def prepare_infrastructure(settings: Settings, *, lock: bool = True) -> Infrastructure:
    data_dir = settings.resolved_data_dir
    embedded = settings.database_url is None or settings.redis_url is None
    data_lock: DataDirLock | None = None
    if embedded and lock:
        data_lock = DataDirLock(data_dir)
        data_lock.acquire()
    postgres = EmbeddedPostgres(data_dir) if settings.database_url is None else None
    redis_server = EmbeddedRedis(data_dir) if settings.redis_url is None else None
    try:
        if postgres is not None:
            # Not cut short by SIGTERM: pg_ctl would start a server pgserver no longer knows about.
            with sigterm_deferred():
                database_url = postgres.start()
            log.info("embedded PostgreSQL in %s", postgres.pgdata)
        else:
            assert settings.database_url is not None
            database_url = to_sqlalchemy_url(settings.database_url.get_secret_value())
        if redis_server is not None:
            redis_url = redis_server.start()  # cut short, it stops the redis-server it started
            log.info("embedded Redis at %s", redis_url)
        else:
            assert settings.redis_url is not None
            redis_url = settings.redis_url.get_secret_value()
    except BaseException:
        if redis_server is not None:
            redis_server.stop()
        if postgres is not None:
            postgres.stop()
        if data_lock is not None:
            data_lock.release()
        raise
    servers: list[supervisor.Supervised] = [s for s in (postgres, redis_server) if s is not None]
    watcher = supervisor.Supervisor(servers) if servers else None
    if watcher is not None:
        watcher.start()
    return Infrastructure(
        database_url=database_url,
        redis_url=redis_url,
        redis=redis_server,
        lock=data_lock,
        embedded_postgres=postgres is not None,
        postgres=postgres,
        supervisor=watcher,
    )


def describe_redis(url: str) -> str:
    if url.startswith("unix://"):
        return url
    rest = url.split("://", 1)[-1]
    return rest.rsplit("@", 1)[-1]


def redis_source(url: str, setting: str = "MARQUEE_REDIS_URL") -> str:
    """Who to blame for ``url``: the embedded server this process started, or the setting."""
    workdir = embedded_redis_dir(url)
    if workdir is not None:
        return f"the embedded Redis in {workdir} ({setting} is not set)"
    return f"Redis at {describe_redis(url)} ({setting})"


async def check_redis(
    url: str, setting: str = "MARQUEE_REDIS_URL", *, loading_wait_s: float = REDIS_LOADING_WAIT_S
) -> None:
    """PING, waiting (bounded, logged) while Redis loads its dataset: until then it answers LOADING."""
    from redis.asyncio import Redis
    from redis.exceptions import BusyLoadingError

    client: Redis = Redis.from_url(url, socket_connect_timeout=3)
    started = time.monotonic()
    loading = False
    try:
        while True:
            try:
                await client.ping()
            except BusyLoadingError as exc:
                if time.monotonic() - started > loading_wait_s:
                    raise ConfigError(
                        f"{redis_source(url, setting)} was still loading its data after {loading_wait_s:.0f}s"
                    ) from exc
                if not loading:
                    loading = True
                    log.info("%s is loading its data; waiting up to %.0fs", redis_source(url, setting), loading_wait_s)
                await asyncio.sleep(0.05)
                continue
            except Exception as exc:
                raise ConfigError(f"Cannot connect to {redis_source(url, setting)}: {exc}") from exc
            break
    finally:
        await client.aclose()
    if loading:
        log.info("%s loaded its data in %.2fs", redis_source(url, setting), time.monotonic() - started)


async def check_postgres(
    engine: AsyncEngine, setting: str = "MARQUEE_DATABASE_URL", *, starting_wait_s: float = POSTGRES_STARTING_WAIT_S
) -> None:
    """``check_database``, waiting (bounded, logged) while PostgreSQL says it is starting up."""
    from sidecar.db.engine import check_database, describe_url

    started = time.monotonic()
    starting = False
    while True:
        try:
            await check_database(engine, setting)
        except ConfigError as exc:
            if not any(s in str(exc) for s in _STARTING_UP) or time.monotonic() - started > starting_wait_s:
                raise
            if not starting:
                starting = True
                log.info(
                    "PostgreSQL at %s is starting up; waiting up to %.0fs",
                    describe_url(str(engine.url)),
                    starting_wait_s,
                )
            await asyncio.sleep(0.1)
            continue
        break
    if starting:
        log.info("PostgreSQL at %s is up after %.2fs", describe_url(str(engine.url)), time.monotonic() - started)


_STARTING_UP = ("the database system is starting up", "the database system is not yet accepting connections")


def tune_gc() -> None:
    """Collect cycles less often in a long-running server process.

    CPython's default thresholds run a full collection every few hundred thousand allocations; with a large
    heap (SQLAlchemy, a loaded model) each pause is tens of milliseconds, and on the webhook endpoint those
    pauses were the whole p99 (bench_webhook_ingest: 48-74 ms, 18-26 ms with this setting). Objects
    alive at start-up are moved out of the collector's way for good.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)


def exit_cleanly_on_sigterm() -> None:
    """Make SIGTERM (``docker stop``, systemd) unwind like Ctrl-C, so the embedded servers are stopped.

    Installed first thing in ``main()`` for long-running commands: with the default handler the process dies
    on the spot, skipping ``finally`` blocks and ``atexit``, and the embedded PostgreSQL and Redis would keep
    running without it. uvicorn shuts down gracefully on SIGTERM, then re-raises the signal under the handler
    that was there before (this one). Once the process is on its way out, further SIGTERMs are ignored so
    they cannot cut the stopping of the servers short.
    """
    signal.signal(signal.SIGTERM, _on_sigterm)


def ignore_sigterm_while_stopping() -> None:
    """After an event loop that handled SIGTERM itself (arq's worker) closed, which restored the default
    handler: the process is stopping, and the servers are stopped next."""
    supervisor.stand_down()
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


class _Deferral:
    depth = 0
    pending = False


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    if _Deferral.depth:
        _Deferral.pending = True
        return
    ignore_sigterm_while_stopping()
    sys.exit(0)


@contextlib.contextmanager
def sigterm_deferred() -> Iterator[None]:
    """A SIGTERM that arrives inside this block exits right after it (main thread, our handler only)."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) is not _on_sigterm:
        yield
        return
    _Deferral.depth += 1
    try:
        yield
    finally:
        _Deferral.depth -= 1
    if _Deferral.depth == 0 and _Deferral.pending:
        _Deferral.pending = False
        _on_sigterm(signal.SIGTERM, None)
