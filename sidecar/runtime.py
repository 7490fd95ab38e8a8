"""Turning settings into running infrastructure: embedded or external PostgreSQL and Redis.

``prepare_infrastructure`` is synchronous (it may start servers); ``check_*`` functions turn
connection failures into one ``ConfigError`` line naming the setting to fix.
"""

from __future__ import annotations

import gc
import logging
import signal
import sys

from redis.asyncio import Redis

from sidecar.embedded import DataDirLock, EmbeddedRedis, Infrastructure, start_postgres, to_sqlalchemy_url
from sidecar.errors import ConfigError
from sidecar.settings import Settings

log = logging.getLogger(__name__)


def prepare_infrastructure(settings: Settings, *, lock: bool = True) -> Infrastructure:
    data_dir = settings.resolved_data_dir
    embedded = settings.database_url is None or settings.redis_url is None
    data_lock: DataDirLock | None = None
    if embedded and lock:
        data_lock = DataDirLock(data_dir)
        data_lock.acquire()
    redis_server: EmbeddedRedis | None = None
    try:
        if settings.database_url is None:
            database_url = start_postgres(data_dir)
            log.info("embedded PostgreSQL in %s", data_dir / "postgres")
        else:
            database_url = to_sqlalchemy_url(settings.database_url.get_secret_value())
        if settings.redis_url is None:
            redis_server = EmbeddedRedis(data_dir)
            redis_url = redis_server.start()
            log.info("embedded Redis at %s", redis_url)
        else:
            redis_url = settings.redis_url.get_secret_value()
    except BaseException:
        if redis_server is not None:
            redis_server.stop()
        if data_lock is not None:
            data_lock.release()
        raise
    return Infrastructure(
        database_url=database_url,
        redis_url=redis_url,
        redis=redis_server,
        lock=data_lock,
        embedded_postgres=settings.database_url is None,
    )


def describe_redis(url: str) -> str:
    if url.startswith("unix://"):
        return url
    rest = url.split("://", 1)[-1]
    return rest.rsplit("@", 1)[-1]


async def check_redis(url: str, setting: str = "MARQUEE_REDIS_URL") -> None:
    client: Redis = Redis.from_url(url, socket_connect_timeout=3)
    try:
        await client.ping()
    except Exception as exc:
        raise ConfigError(f"Cannot connect to Redis at {describe_redis(url)} ({setting}): {exc}") from exc
    finally:
        await client.aclose()


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

    uvicorn shuts down gracefully on SIGTERM, then re-raises the signal under the handler that was there
    before; with the default one the process dies on the spot, skipping ``finally`` blocks and ``atexit``,
    and the embedded PostgreSQL and Redis would keep running without it.
    """
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
