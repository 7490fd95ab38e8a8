"""Job runs and their progress, kept in ``job_run`` so the UI and the CLI can show them.

Writes are throttled: progress is flushed at most every ``flush_every`` seconds, and always at the end.
Every ``update``/``advance`` is also a checkpoint: when the run was asked to stop
(``sidecar.jobs.cancellation``) it raises ``JobCancelled`` there; a long step without progress to report
calls ``await progress.checkpoint()``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from sidecar.db.models import JobRun
from sidecar.jobs.cancellation import CHECK_EVERY_S, JobCancelled

log = logging.getLogger(__name__)

MAX_LOG_LINES = 500


class Progress:
    """Handed to every job: ``await progress.update(done, total, "message")`` and ``progress.log(...)``."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession] | None, run_id: int | None, flush_every: float = 1.0
    ) -> None:
        self._sessions = sessions
        self.run_id = run_id
        self.current = 0
        self.total: int | None = None
        self.message = ""
        self.lines: list[str] = []
        self._flush_every = flush_every
        self._last_flush = 0.0
        self._dirty = False
        # Set by the worker's wrapper: asks Redis whether this run should stop (read at most every CHECK_EVERY_S).
        self.stop_requested: Callable[[], Awaitable[bool]] | None = None
        self.stopping = False
        self._last_check = 0.0

    @classmethod
    def detached(cls) -> Progress:
        """A Progress that records nothing in the database (for direct calls and tests)."""
        return cls(None, None)

    async def checkpoint(self) -> None:
        """Raise ``JobCancelled`` when the run was asked to stop (a cheap no-op between checks)."""
        if self.stopping:
            raise JobCancelled(self.run_id)
        if self.stop_requested is None or time.monotonic() - self._last_check < CHECK_EVERY_S:
            return
        self._last_check = time.monotonic()
        if await self.stop_requested():
            self.stopping = True
            raise JobCancelled(self.run_id)

    async def update(self, current: int, total: int | None = None, message: str | None = None) -> None:
        await self.checkpoint()
        self.current = current
        if total is not None:
            self.total = total
        if message is not None:
            self.message = message
        self._dirty = True
        if time.monotonic() - self._last_flush >= self._flush_every:
            await self.flush()

    async def advance(self, by: int = 1, message: str | None = None) -> None:
        await self.update(self.current + by, None, message)

    def log(self, line: str) -> None:
        log.debug("[job %s] %s", self.run_id, line)
        self.lines.append(f"{datetime.now(UTC):%H:%M:%S} {line}")
        del self.lines[:-MAX_LOG_LINES]
        self._dirty = True

    async def flush(self) -> None:
        self._last_flush = time.monotonic()
        if self._sessions is None or self.run_id is None or not self._dirty:
            return
        self._dirty = False
        async with self._sessions() as session:
            await session.exec(
                update(JobRun)
                .where(JobRun.id == self.run_id)  # type: ignore[arg-type]
                .values(
                    progress_current=self.current,
                    progress_total=self.total,
                    message=self.message,
                    log=self.lines,
                )
            )
            await session.commit()


async def start_run(
    sessions: async_sessionmaker[AsyncSession],
    job_name: str,
    arq_job_id: str | None,
    args: dict[str, Any],
    worker_id: str | None = None,
) -> Progress:
    async with sessions() as session:
        run = JobRun(job_name=job_name, arq_job_id=arq_job_id, args=args, worker_id=worker_id)
        session.add(run)
        await session.commit()
        await session.refresh(run)
    return Progress(sessions, run.id)


async def finish_run(
    progress: Progress, status: str, *, error: str | None = None, result: dict[str, Any] | None = None
) -> None:
    if progress.run_id is None or progress._sessions is None:
        return
    progress._dirty = True
    await progress.flush()
    async with progress._sessions() as session:
        await session.exec(
            update(JobRun)
            .where(JobRun.id == progress.run_id)  # type: ignore[arg-type]
            .values(status=status, error=error, result=result or {}, finished_at=datetime.now(UTC))
        )
        await session.commit()
