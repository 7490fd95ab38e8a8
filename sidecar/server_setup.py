"""The media server an admin sets up on Admin → Server: type, URL and API key, tested, stored, applied.

The connection comes from one of two places. ``MARQUEE_MEDIA_SERVER_URL`` (with ``_TYPE`` and ``_API_KEY``)
wins whenever it is set, and the page says so; otherwise the connection saved here (``runtime_setting``
key ``media_server``) is used. The API key is kept server-side only: pages and the API show its last four
characters, and no log line carries it. Saving applies at once, without a restart (``sidecar.live_settings``).

An install with no server at all still starts; until a server is saved, the setup page is reachable with
the setup code Marquee logs at start (``setup_code``), since nobody can log in without a media server.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field

from providers.base import ServerInfo, make_media_server
from providers.errors import MediaServerError, ProviderAuthError, ProviderUnavailable
from sidecar.errors import InvalidInput
from sidecar.runtime_settings import RuntimeKey
from sidecar.settings import Settings

log = logging.getLogger(__name__)

ServerType = Literal["jellyfin", "emby"]
SERVER_TYPES: tuple[ServerType, ...] = ("jellyfin", "emby")
TEST_TIMEOUT_S = 8.0
PRODUCT_LABEL = {"jellyfin": "Jellyfin", "emby": "Emby"}


class StoredServer(BaseModel):
    """What the admin saved (all None: nothing saved yet)."""

    model_config = ConfigDict(extra="forbid")

    type: ServerType | None = None
    url: str | None = Field(default=None, max_length=2000)
    api_key: str | None = Field(default=None, max_length=500)

    @property
    def complete(self) -> bool:
        return bool(self.type and self.url and self.api_key)


MEDIA_SERVER: RuntimeKey[StoredServer] = RuntimeKey("media_server", StoredServer)


class ConnectionFailed(InvalidInput):
    """Test Connection (or Save) could not talk to the server; the message says what to fix."""


def env_sets_server(env: Settings) -> bool:
    """The environment names a server (MARQUEE_MEDIA_SERVER_URL): it wins over the saved one."""
    return env.media_server_url is not None


def key_hint(key: str | None) -> str | None:
    """The last four characters of a key, as pages show it (None when no key is set)."""
    if not key:
        return None
    return "…" + key[-4:] if len(key) >= 12 else "…"


def check_type(value: object) -> ServerType:
    if value not in SERVER_TYPES:
        raise InvalidInput("Server type: choose Jellyfin or Emby.")
    return value


def check_url(value: object) -> str:
    """``http(s)://host[:port][/path]`` without a trailing slash, or InvalidInput saying what is wrong."""
    raw = str(value or "").strip()
    if not raw:
        raise InvalidInput("Server URL: enter the address you open the server at, e.g. http://192.168.1.10:8096.")
    try:
        url = httpx.URL(raw)
    except (httpx.InvalidURL, ValueError):
        raise InvalidInput(f"Server URL: {raw[:80]!r} is not a URL (e.g. http://192.168.1.10:8096).") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise InvalidInput(
            f"Server URL: {raw[:80]!r} must start with http:// or https:// and name a host "
            "(e.g. http://192.168.1.10:8096)."
        )
    if url.query or url.fragment:
        raise InvalidInput("Server URL: leave out the ?… and #… parts; only the server's address is needed.")
    return raw.rstrip("/")


def check_api_key(value: object) -> str:
    key = str(value or "").strip()
    if not key:
        raise InvalidInput("API key: paste an API key from the server's dashboard (Dashboard → API Keys).")
    if len(key) > 500 or any(c.isspace() for c in key):
        raise InvalidInput("API key: an API key is one word without spaces; paste it again.")
    return key


async def test_connection(kind: ServerType, url: str, api_key: str) -> ServerInfo:
    """Ask the server who it is, through the provider; ``ConnectionFailed`` with a message an admin can act on."""
    label = f"{PRODUCT_LABEL[kind]} at {url}"
    server = make_media_server(kind, url, api_key, timeout=TEST_TIMEOUT_S, retries=0)
    try:
        info = await server.server_info()
        # /System/Info answers without a key on some versions; the users list needs an admin key.
        await server.list_users()
    except ProviderAuthError:
        raise ConnectionFailed(
            f"{label} refused the API key: create one in the server's dashboard (Dashboard → API Keys) and paste it."
        ) from None
    except ProviderUnavailable as exc:
        raise ConnectionFailed(f"Connection failed: {exc.message}") from None
    except MediaServerError as exc:
        raise ConnectionFailed(
            f"{label} answered, but not as a {PRODUCT_LABEL[kind]} server would ({exc.message}): check the URL."
        ) from None
    finally:
        await server.aclose()
    if info.product != kind:
        raise ConnectionFailed(
            f"{url} is an {PRODUCT_LABEL.get(info.product, info.product)} server, not {PRODUCT_LABEL[kind]}: "
            "choose the other type."
        )
    return info


def connected_message(info: ServerInfo) -> str:
    return f"Connected to {PRODUCT_LABEL.get(info.product, info.product)} server “{info.name}”, version {info.version}."


def setup_code(settings: Settings) -> str:
    """The code that opens the setup page while no server is configured (nobody can log in until then).
    Derived from the session secret, so it is stable across restarts and useless once a server is set."""
    digest = hmac.new(settings.secret_value("session_secret").encode(), b"marquee-setup-code", hashlib.sha256)
    raw = digest.hexdigest()[:12].upper()
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def code_matches(settings: Settings, sent: str | None) -> bool:
    if not sent:
        return False
    wanted = setup_code(settings)
    cleaned = sent.strip().upper().replace(" ", "")
    if "-" not in cleaned and len(cleaned) == 12:
        cleaned = f"{cleaned[:4]}-{cleaned[4:8]}-{cleaned[8:]}"
    return hmac.compare_digest(cleaned.encode(), wanted.encode())


def log_setup_hint(settings: Settings) -> None:
    if settings.session_secret is None:  # a tool's settings (no web app to set up in)
        return
    log.warning(
        "No media server is configured yet: open %s/setup and enter the setup code %s "
        "(or set MARQUEE_MEDIA_SERVER_TYPE, _URL and _API_KEY)",
        settings.public_base_url,
        setup_code(settings),
    )
