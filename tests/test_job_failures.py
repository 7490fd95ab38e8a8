"""How a failed job is reported: an explained failure is one line and a failed run; a bug keeps its traceback."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import text

from sidecar.errors import JobError
from sidecar.jobs.progress import Progress
from sidecar.jobs.registry import JobSpec, wrap
from sidecar.services import Services


async def _explained(services: Services, progress: Progress) -> dict[str, Any]:
    raise JobError("No media server is configured: set MARQUEE_MEDIA_SERVER_URL.")


async def _bug(services: Services, progress: Progress) -> dict[str, Any]:
    return {"x": 1 / 0}


async def _run(services: Services, spec: JobSpec) -> Any:
    return await wrap(spec).coroutine({"services": services, "job_id": f"test:{spec.name}", "job_try": 1})


async def _last_run(services: Services) -> tuple[str, str]:
    async with services.engine.connect() as conn:
        row = (await conn.execute(text("SELECT status, error FROM job_run ORDER BY id DESC LIMIT 1"))).one()
    return str(row[0]), str(row[1])


async def test_an_explained_failure_is_one_line_and_a_failed_run(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        await _run(services, JobSpec("test-explained", _explained, "fails with a reason"))
    assert await _last_run(services) == ("failed", "No media server is configured: set MARQUEE_MEDIA_SERVER_URL.")
    failures = [r for r in caplog.records if "test-explained failed" in r.getMessage()]
    assert len(failures) == 1 and failures[0].exc_info is None


async def test_a_bug_keeps_its_traceback(services: Services, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO), pytest.raises(ZeroDivisionError):
        await _run(services, JobSpec("test-bug", _bug, "divides by zero"))
    assert (await _last_run(services))[0] == "failed"
    assert any(r.exc_info is not None for r in caplog.records if "test-bug failed" in r.getMessage())
