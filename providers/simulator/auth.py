"""Where a token may come from, per flavour, exactly as the real servers look for it."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from providers.simulator.model import SimToken, SimUser


def parse_auth_header(value: str) -> tuple[str, dict[str, str]]:
    """``MediaBrowser Client="x", Token="y"`` → ("mediabrowser", {"client": "x", "token": "y"})."""
    scheme, _, rest = value.strip().partition(" ")
    parts: dict[str, str] = {}
    for chunk in rest.split(","):
        key, sep, raw = chunk.strip().partition("=")
        if not sep:
            continue
        parts[key.strip().lower()] = unquote(raw.strip().strip('"'))
    return scheme.lower(), parts


@dataclass
class AuthInfo:
    token: str | None
    client: str = ""
    device: str = ""
    device_id: str = ""
    version: str = ""


def find_token(flavor: str, headers: dict[str, str], query: dict[str, str], *, legacy: bool) -> AuthInfo:
    """``headers`` and ``query`` have lowercase keys."""
    info = AuthInfo(token=None)

    def take(parts: dict[str, str]) -> None:
        info.client = info.client or parts.get("client", "")
        info.device = info.device or parts.get("device", "")
        info.device_id = info.device_id or parts.get("deviceid", "")
        info.version = info.version or parts.get("version", "")
        if info.token is None and parts.get("token"):
            info.token = parts["token"]

    authorization = headers.get("authorization")
    if authorization:
        scheme, parts = parse_auth_header(authorization)
        if scheme == "mediabrowser" or (scheme == "emby" and (legacy or flavor == "emby")):
            take(parts)
    emby_auth = headers.get("x-emby-authorization")
    if emby_auth and (legacy or flavor == "emby"):
        scheme, parts = parse_auth_header(emby_auth)
        if scheme in ("mediabrowser", "emby"):
            take(parts)
    if info.token is None and (legacy or flavor == "emby"):
        info.token = headers.get("x-emby-token") or headers.get("x-mediabrowser-token") or None
    if info.token is None and flavor == "jellyfin":
        info.token = query.get("apikey") or (query.get("api_key") if legacy else None) or None
    if info.token is None and flavor == "emby":
        info.token = query.get("api_key") or query.get("x-emby-token") or None
    return info


@dataclass
class Caller:
    token: SimToken
    user: SimUser | None

    @property
    def is_admin(self) -> bool:
        return self.user is None or self.user.is_admin
