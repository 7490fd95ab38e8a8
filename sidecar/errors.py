"""Marquee's own errors (media-server errors live in ``providers.errors``).

    MarqueeError
    ├── ConfigError          a setting is wrong or a needed service is unreachable; the message names it
    ├── WebhookRejected      a webhook request we refuse (status_code: 400, 401, 413, 415)
    ├── NotFound             an id in a request that does not exist (404)
    ├── InvalidInput         a request the user can correct: a field is invalid or refers to something not there (422)
    ├── Forbidden            the user may see the thing but not do this to it (403)
    └── JobError             a job cannot go on; recorded on the job run with this message

The web app maps these to HTTP once (``sidecar.app``): each to its status above with the message, any
other ``MarqueeError`` to 400, and ``providers.errors.MediaServerError`` to 502 (503 when the server is
unreachable) with a message naming the server problem. A plain ``ValueError`` or ``OSError`` (a
``PermissionError`` included) is a bug or a broken disk: 500. The CLI prints the message as one line.
"""

from __future__ import annotations


class MarqueeError(Exception):
    """Base class: the message is meant for the person running Marquee."""


class ConfigError(MarqueeError):
    pass


class WebhookRejected(MarqueeError):
    def __init__(self, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.status_code = status_code


class NotFound(MarqueeError):
    pass


class InvalidInput(MarqueeError):
    pass


class Forbidden(MarqueeError):
    pass


class JobError(MarqueeError):
    pass
