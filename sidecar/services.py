"""The long-lived clients the web app and the worker share: DB engine, Redis pool, HTTP, media server.

Route handlers and jobs receive a ``Services`` and call service functions with it; nothing else
opens connections.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx
from arq.connections import ArqRedis, RedisSettings, create_pool
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from sidecar.db.engine import check_database, make_engine, make_sessionmaker
from sidecar.db.migrate import migrate
from sidecar.errors import ConfigError
from sidecar.runtime import check_redis
from sidecar.settings import Settings

if TYPE_CHECKING:
    from providers.ai.embedder import Embedder
    from providers.ai.writing import TextGenerator
    from providers.base import MediaServer
    from sidecar.live_settings import LiveConfig
    from sidecar.picks_store.inputs import SnapshotCache
    from sidecar.webhooks.writer import EventWriter

log = logging.getLogger(__name__)

QUEUE_NAME = "marquee:queue"


def redis_settings(url: str) -> RedisSettings:
    settings = RedisSettings.from_dsn(url)
    settings.conn_timeout = 3
    settings.conn_retries = 2
    return settings


@dataclass
class Services:
    settings: Settings
    database_url: str
    redis_url: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    redis: ArqRedis
    http: httpx.AsyncClient
    media_server: MediaServer | None = None
    # Built on first use, then kept for the life of the process (tests and tools may set their own first):
    embedder: Embedder | None = None  # sidecar.ai_factory.get_embedder
    text_generator: TextGenerator | None = None  # sidecar.ai_factory.get_text_generator
    snapshot_cache: SnapshotCache | None = None  # sidecar.picks_store.inputs.snapshot_cache
    media_server_row_id: int | None = None  # sidecar.sync.server.ensure_server
    event_writer: EventWriter | None = None  # sidecar.webhooks.writer.event_writer
    live_config: LiveConfig | None = None  # the environment's settings under the admin's saved ones (live_settings)

    async def aclose(self) -> None:
        from sidecar.ai_factory import aclose_ai  # imported here: ai_factory builds on Services

        await aclose_ai(self)
        if self.media_server is not None:
            await self.media_server.aclose()
        await self.http.aclose()
        await self.redis.aclose()
        await self.engine.dispose()


def build_media_server(settings: Settings) -> MediaServer | None:
    if settings.media_server_url is None:
        return None
    if settings.media_server_type is None:
        raise ConfigError("MARQUEE_MEDIA_SERVER_TYPE must be jellyfin or emby when MARQUEE_MEDIA_SERVER_URL is set")
    if settings.media_server_api_key is None:
        raise ConfigError("MARQUEE_MEDIA_SERVER_API_KEY is required when MARQUEE_MEDIA_SERVER_URL is set")
    from providers.base import make_media_server

    return make_media_server(
        settings.media_server_type,
        settings.media_server_url,
        settings.media_server_api_key.get_secret_value(),
    )


async def open_services(
    settings: Settings, database_url: str, redis_url: str, *, run_migrations: bool = True
) -> Services:
    engine = make_engine(database_url)
    try:
        await check_database(engine)
        await check_redis(redis_url)
        if run_migrations:
            await migrate(engine)
        redis = await create_pool(redis_settings(redis_url), default_queue_name=QUEUE_NAME)
    except BaseException:
        await engine.dispose()
        raise
    services = Services(
        settings=settings,
        database_url=database_url,
        redis_url=redis_url,
        engine=engine,
        sessions=make_sessionmaker(engine),
        redis=redis,
        http=httpx.AsyncClient(timeout=httpx.Timeout(10.0)),
        media_server=build_media_server(settings),
    )
    from sidecar import live_settings, server_setup  # imported here: both build on Services

    try:
        await live_settings.apply(services)  # the server and models an admin saved on the setup pages
    except BaseException:
        await services.aclose()
        raise
    if services.media_server is None:
        server_setup.log_setup_hint(settings)
    return services
