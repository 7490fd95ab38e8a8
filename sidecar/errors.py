"""Marquee's own errors (media-server errors live in ``providers.errors``).

    MarqueeError
    ├── ConfigError          a setting is wrong or a needed service is unreachable; the message names it
    ├── WebhookRejected      a webhook request we refuse (status_code: 400, 401, 413, 415)
    ├── NotFound             an id in a request that does not exist (404)
    └── JobError             a job cannot go on; recorded on the job run with this message

Web handlers turn these into 4xx responses with the message; the CLI prints the message as one line.
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


class JobError(MarqueeError):
    pass
