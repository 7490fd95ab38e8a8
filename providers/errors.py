"""Errors raised by the media-server providers (Jellyfin, Emby).

    MediaServerError            base: every failure talking to the media server
    ├── ProviderUnavailable     cannot connect, timed out, or 5xx after every retry (transient: retry later)
    ├── ProviderAuthError       401/403: the API key or user token is wrong, revoked or not an admin's
    │   └── ProviderRefused     403: the server understood the call and refuses it (not an admin's key, or a call
    │                           this server version no longer allows, like ``GET /Users`` on Emby 4.9)
    ├── ProviderNotFound        404: the item, user, library, collection or playlist does not exist
    ├── ProviderResponseError   any other 4xx, or a body that is not what the API promises
    └── ScanTimeout             a library scan did not finish within the time we were willing to wait

Every message names the server and says what to do ("Jellyfin at http://x:8096 refused the API key:
create one in Dashboard → API Keys"), so handlers and the CLI can show it as is. Jobs retry
``ProviderUnavailable`` and ``ScanTimeout``; the others need a person.
"""

from __future__ import annotations


class MediaServerError(Exception):
    """Base class. ``server`` is e.g. "Jellyfin at http://host:8096"; ``status_code`` when HTTP answered."""

    def __init__(self, message: str, *, server: str = "", status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.server = server
        self.status_code = status_code


class ProviderUnavailable(MediaServerError):
    """The server could not be reached or kept failing with 5xx; worth retrying later."""


class ProviderAuthError(MediaServerError):
    """The server refused our credentials (401) or says they lack a permission (403)."""


class ProviderRefused(ProviderAuthError):
    """The server refused one call (403): the key is not an administrator's, or this version no longer allows it."""


class ProviderNotFound(MediaServerError):
    """The server does not know the id or name we asked for (404)."""


class ProviderResponseError(MediaServerError):
    """The server rejected the request (other 4xx) or answered with something we cannot parse."""


class ScanTimeout(MediaServerError):
    """The library scan was still running when the wait ran out."""
