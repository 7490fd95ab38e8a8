"""The admin's saved connection and model choices, applied to a running process without a restart.

``Services.settings`` is the environment's settings (``LiveConfig.env``) with the saved media server
(``sidecar.server_setup``) and models (``sidecar.model_setup``) laid over where the environment does not
set them. ``apply`` re-reads both rows and swaps what changed: the media-server provider (and the cached
row id, so a new server gets its own row), the embedder and the text generator (built again on next use).

The web process applies right after a save. A worker in another process (``marquee worker``) learns of it
before its next job: the arq worker calls ``refresh`` on every job start, which compares the rows'
``updated_at`` with what it applied (one two-row indexed read; a throttle would let a job queued right after
a save run with the old server). A web process without its own worker follows the
worker's saves (the embedding-model switch) every two seconds (``follow``).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import SecretStr
from sqlalchemy import text

from sidecar import model_setup, server_setup
from sidecar.ai_factory import aclose_ai
from sidecar.runtime_settings import parse
from sidecar.services import Services, build_media_server
from sidecar.settings import Settings

log = logging.getLogger(__name__)

_KEYS = (server_setup.MEDIA_SERVER.key, model_setup.MODELS.key)
_SERVER_FIELDS = ("media_server_type", "media_server_url", "media_server_api_key")
_AI_FIELDS = ("embedding_provider", "embedding_model", "openai_base_url", "openai_api_key", "openai_chat_model")

Stamp = tuple[tuple[str, datetime], ...]


@dataclass
class LiveConfig:
    env: Settings  # MARQUEE_* as the process started
    stamp: Stamp = ()


def live_config(services: Services) -> LiveConfig:
    if services.live_config is None:
        services.live_config = LiveConfig(env=services.settings)
    return services.live_config


def env_settings(services: Services) -> Settings:
    return live_config(services).env


def effective(
    env: Settings, stored_server: server_setup.StoredServer, stored_models: model_setup.StoredModels
) -> Settings:
    update: dict[str, Any] = {}
    if not server_setup.env_sets_server(env) and stored_server.complete:
        update["media_server_type"] = stored_server.type
        update["media_server_url"] = stored_server.url
        update["media_server_api_key"] = SecretStr(stored_server.api_key or "")
    update.update(model_setup.overrides(env, stored_models))
    return env.model_copy(update=update) if update else env


async def _read(services: Services) -> tuple[Stamp, dict[str, Any]]:
    async with services.engine.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT key, value, updated_at FROM runtime_setting WHERE key = ANY(:keys) ORDER BY key"),
                {"keys": list(_KEYS)},
            )
        ).all()
    return tuple((r.key, r.updated_at) for r in rows), {r.key: r.value for r in rows}


def _changed(old: Settings, new: Settings, fields: tuple[str, ...]) -> bool:
    def plain(value: object) -> object:
        return value.get_secret_value() if isinstance(value, SecretStr) else value

    return any(plain(getattr(old, f)) != plain(getattr(new, f)) for f in fields)


async def apply(services: Services) -> None:
    """Lay the saved choices over the environment and swap the clients whose settings changed."""
    live = live_config(services)
    stamp, values = await _read(services)
    new = effective(
        live.env,
        parse(server_setup.MEDIA_SERVER, values.get(server_setup.MEDIA_SERVER.key)),
        parse(model_setup.MODELS, values.get(model_setup.MODELS.key)),
    )
    old = services.settings
    if _changed(old, new, _SERVER_FIELDS) or (services.media_server is None and new.media_server_url):
        retired = services.media_server
        services.media_server = build_media_server(new)
        services.media_server_row_id = None  # a different server gets its own row (sidecar.sync.server)
        if retired is not None:
            await retired.aclose()
        log.info("media server is now %s %s", new.media_server_type or "none", new.media_server_url or "")
    if _changed(old, new, _AI_FIELDS):
        await aclose_ai(services)  # built again from the new settings on next use
        log.info("embedding model is now %s %s", new.embedding_provider, new.resolved_embedding_model)
    services.settings = new
    live.stamp = stamp


async def refresh(services: Services) -> bool:
    """Apply saved changes made by another process; True when something was applied."""
    live = live_config(services)
    async with services.engine.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT key, updated_at FROM runtime_setting WHERE key = ANY(:keys) ORDER BY key"),
                {"keys": list(_KEYS)},
            )
        ).all()
    if tuple((r.key, r.updated_at) for r in rows) == live.stamp:
        return False
    await apply(services)
    return True


async def on_job_start(ctx: dict[str, Any]) -> None:
    """arq's job-start hook: the job runs with the admin's latest saved server and models."""
    services: Services | None = ctx.get("services")
    if services is not None:
        try:
            await refresh(services)
        except Exception as exc:  # the job itself will meet the same database trouble and say so
            log.warning("cannot check for changed settings: %s", exc)


FOLLOW_EVERY_S = 2.0


async def follow(services: Services, *, every_s: float = FOLLOW_EVERY_S) -> None:
    """A web process without a worker of its own applies what a worker saved (``switch-embedding-model``)."""
    while True:
        await asyncio.sleep(every_s)
        try:
            await refresh(services)
        except Exception as exc:  # the database may be restarting; try again on the next tick
            log.warning("cannot check for changed settings: %s", exc)
