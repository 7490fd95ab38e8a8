"""The quiet console: at the default level per-job lines stay out, and the demo's console stays short."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from sidecar.logs import PER_JOB_LOGGERS, configure_logging


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    saved = {name: logging.getLogger(name).level for name in PER_JOB_LOGGERS}
    yield
    root.handlers[:], root.level = saved_handlers, saved_level
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


def _printed(capsys: pytest.CaptureFixture[str], level: str) -> list[str]:
    configure_logging(level)
    logging.getLogger("arq.worker").info("  0.02s → process-webhook-event:process-webhook-event(event_id=7)")
    logging.getLogger("uvicorn.access").info('127.0.0.1:5000 - "POST /webhooks/jellyfin HTTP/1.1" 202')
    logging.getLogger("sidecar.jobs.progress").debug("[job 3] movies: 300 items")
    logging.getLogger("sidecar.webhooks.apply").info("alice watched Heat; refreshing their picks")
    logging.getLogger("arq.worker").error("job 12 failed")
    return [line for line in capsys.readouterr().err.splitlines() if line.strip()]


def test_default_level_keeps_per_job_lines_out(restore_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    lines = _printed(capsys, "INFO")
    assert len(lines) == 2, lines
    assert "alice watched Heat" in lines[0]
    assert "job 12 failed" in lines[1]


def test_debug_brings_per_job_lines_back(restore_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    lines = _printed(capsys, "DEBUG")
    assert any("process-webhook-event" in line for line in lines), lines
    assert any("POST /webhooks/jellyfin" in line for line in lines), lines
    assert any("[job 3] movies: 300 items" in line for line in lines), lines
    assert len(lines) == 5, lines
