"""Shared fixtures: a real PostgreSQL with pgvector and a real Redis, never mocks.

PostgreSQL: ``MARQUEE_TEST_DATABASE_URL`` (must have pgvector) or an embedded pgserver; each test session
gets its own database. Redis: ``MARQUEE_TEST_REDIS_URL`` or an embedded redis-server on a unix socket.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
from pydantic import SecretStr
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sidecar.db.engine import make_engine
from sidecar.db.migrate import migrate
from sidecar.embedded import to_sqlalchemy_url
from sidecar.embedded_redis import EmbeddedRedis
from sidecar.services import Services, open_services
from sidecar.settings import Settings

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def shared_path(relative: str) -> Path:
    """``../shared/<relative>``: reference data kept beside the repository (real catalogue and ratings, recorded
    webhooks, the servers' OpenAPI specs), not in it. When it is missing the test is skipped, with the path as
    the reason, or fails when the ``CI`` environment variable is set (``.ci/run`` sets it): CI must run them all.
    """
    path = SHARED / relative
    if not path.exists():
        reason = f"{path} is not available (../shared is kept beside the repository, not in it)"
        if os.environ.get("CI", "").lower() not in ("", "0", "false"):
            pytest.fail(f"{reason}; CI is set, so this is a failure, not a skip", pytrace=False)
        pytest.skip(reason)
    return path


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh, migrated-on-demand database for this test session (SQLAlchemy URL)."""
    configured = os.environ.get("MARQUEE_TEST_DATABASE_URL")
    if configured:
        admin = _plain(to_sqlalchemy_url(configured))
    else:
        import pgserver

        pgdata = Path(tempfile.gettempdir()) / f"marquee-test-pg-{os.getuid()}"
        # Every pytest process (each xdist worker, other sessions on this machine) shares this server; one at a
        # time initialises, starts or joins it (pgserver also locks, in a per-user runtime dir, around the same).
        with open(f"{pgdata}.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            admin = pgserver.get_server(str(pgdata), cleanup_mode="stop").get_uri()
    name = f"marquee_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, query = admin.partition("?")
    url = base.rsplit("/", 1)[0] + "/" + name + (f"?{query}" if query else "")
    yield to_sqlalchemy_url(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    configured = os.environ.get("MARQUEE_TEST_REDIS_URL")
    if configured:
        yield configured
        return
    with tempfile.TemporaryDirectory(prefix="mq-redis-") as tmp:
        server = EmbeddedRedis(Path(tmp))
        try:
            yield server.start()
        finally:
            server.stop()


@pytest.fixture(scope="session")
async def migrated_engine(pg_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(pg_url, pool_size=5)
    await migrate(engine)
    yield engine
    await engine.dispose()


async def _truncate_all(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        rows = await conn.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migration'")
        )
        tables = ", ".join(f'"{r[0]}"' for r in rows)
        if tables:
            await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
async def clean_db(migrated_engine: AsyncEngine) -> AsyncEngine:
    """The migrated engine with every table emptied before the test."""
    await _truncate_all(migrated_engine)
    return migrated_engine


@pytest.fixture
async def clean_redis(redis_url: str) -> AsyncIterator[str]:
    client: Redis = Redis.from_url(redis_url)
    await client.flushdb()
    await client.aclose()
    yield redis_url


@pytest.fixture
def settings(tmp_path: Path, pg_url: str, redis_url: str) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path / "data",
        database_url=SecretStr(pg_url),
        redis_url=SecretStr(redis_url),
        session_secret=SecretStr("test-session-secret-0123456789abcdef"),
        webhook_secret=SecretStr("test-webhook-secret"),
        strm_root=tmp_path / "libraries",
    )


@pytest.fixture
async def services(settings: Settings, clean_db: AsyncEngine, clean_redis: str) -> AsyncIterator[Services]:
    svc = await open_services(settings, str(settings.database_url.get_secret_value()), clean_redis)  # type: ignore[union-attr]
    yield svc
    await svc.aclose()
