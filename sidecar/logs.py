"""Logging setup: a filter that redacts secrets (webhook tokens, API keys) from every record, and a quiet
console at the default level.

At ``INFO`` the console carries what a person needs: start-up, the first pipeline's progress, and one line
per meaningful event (a playback applied, a library republished, an error). Per-job and per-request lines —
Marquee's own job logs (``sidecar.jobs.progress``), arq's ``arq.worker`` lines for every job, uvicorn's
access log — are ``DEBUG`` detail: ``MARQUEE_LOG_LEVEL=DEBUG`` brings them back.
"""

from __future__ import annotations

import logging
import re

_SECRET_PARAMS = re.compile(r"(?i)\b(token|api_?key|apikey|x-emby-token|password|pw)=([^&\s\"']+)")


def redact(text: str) -> str:
    return _SECRET_PARAMS.sub(lambda m: f"{m.group(1)}=***", text)


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


# Loggers that speak once per job or per request: raised to WARNING unless the level is DEBUG.
PER_JOB_LOGGERS = ("arq", "uvicorn.access")


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S"))
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "arq"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    for noisy in ("httpx", "httpcore", "pgserver", "sentence_transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    detailed = root.getEffectiveLevel() <= logging.DEBUG
    for name in PER_JOB_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET if detailed else logging.WARNING)
