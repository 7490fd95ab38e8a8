"""The media-server connection as the admin sets it (Admin → Server, ``/setup`` and the JSON API share it):
the validated form, Save (test, store, apply, fetch libraries, queue the first sync) and the view of what is
set (the key only as a hint)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sidecar import live_settings, server_setup
from sidecar import runtime_settings as rs
from sidecar.errors import InvalidInput
from sidecar.jobs.queue import enqueue
from sidecar.services import Services
from sidecar.sync import state
from sidecar.sync.libraries import sync_libraries

log = logging.getLogger(__name__)

INITIAL_SYNC_JOB = "initial-sync"


@dataclass(frozen=True)
class ServerForm:
    type: server_setup.ServerType
    url: str
    api_key: str


def parse_server_form(services: Services, data: dict[str, Any]) -> ServerForm:
    """Validated type/URL/key; an empty key means "the saved one" (pages never show it back)."""
    kind = server_setup.check_type(data.get("type"))
    url = server_setup.check_url(data.get("url"))
    key = str(data.get("api_key") or "").strip()
    if not key:
        saved = services.settings.media_server_api_key
        if saved is None:
            server_setup.check_api_key(key)  # says what to paste
        key = saved.get_secret_value() if saved is not None else ""
    return ServerForm(kind, url, server_setup.check_api_key(key))


def refuse_if_env(services: Services) -> None:
    if server_setup.env_sets_server(live_settings.env_settings(services)):
        raise InvalidInput(
            "The media server comes from the environment (MARQUEE_MEDIA_SERVER_*), which wins over this page: "
            "change it there and restart."
        )


async def save_server(services: Services, form: ServerForm) -> str:
    """Test, store and apply the connection; fetch the server's libraries; queue the first sync."""
    refuse_if_env(services)
    info = await server_setup.test_connection(form.type, form.url, form.api_key)
    async with services.sessions() as session:
        await rs.save(session, server_setup.MEDIA_SERVER, server_setup.StoredServer(**form.__dict__))
    await live_settings.apply(services)
    message = f"Saved. {server_setup.connected_message(info)}"
    try:
        found = await sync_libraries(services)
        message += f" {libraries_message(found)}"
    except Exception as exc:  # saved all the same; the page offers the re-fetch
        log.warning("fetching libraries after saving the server failed: %s", exc)
        message += " The libraries could not be fetched yet: use Re-fetch libraries."
    if not await state.has_initial_sync(services.engine):
        await enqueue(services.redis, INITIAL_SYNC_JOB, job_id=INITIAL_SYNC_JOB)
        message += " The first sync has started (Admin → Jobs)."
    return message


def libraries_message(found: dict[str, int]) -> str:
    gone = f", {found['gone']} no longer there" if found.get("gone") else ""
    return f"The server lists {found.get('libraries', 0)} libraries{gone}; choose the ones to use below."


def server_view(services: Services) -> dict[str, Any]:
    env = live_settings.env_settings(services)
    current = services.settings
    key = current.media_server_api_key.get_secret_value() if current.media_server_api_key else None
    source = "environment" if server_setup.env_sets_server(env) else ("saved" if current.media_server_url else None)
    return {
        "type": current.media_server_type,
        "url": current.media_server_url,
        "api_key_hint": server_setup.key_hint(key),
        "source": source,
        "env_locked": source == "environment",
        "configured": services.media_server is not None,
    }
