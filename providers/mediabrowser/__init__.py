"""Jellyfin and Emby providers sharing one core (``core.py``); ``make_client`` picks the flavour."""

from __future__ import annotations

from providers.base import ServerKind
from providers.mediabrowser.core import MediaBrowserServer
from providers.mediabrowser.emby import EmbyServer
from providers.mediabrowser.jellyfin import JellyfinServer

__all__ = ["EmbyServer", "JellyfinServer", "MediaBrowserServer", "make_client"]


def make_client(
    kind: ServerKind,
    url: str,
    api_key: str,
    *,
    timeout: float = 15.0,
    retries: int = 3,
    backoff: float = 0.5,
) -> MediaBrowserServer:
    cls: type[MediaBrowserServer] = JellyfinServer if kind == "jellyfin" else EmbyServer
    return cls(url, api_key, timeout=timeout, retries=retries, backoff=backoff)
