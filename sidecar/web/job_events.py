"""Server-sent events: a job run's progress as it happens, for the Jobs pages and the header's widget.

- ``GET /api/admin/jobs/runs/{id}/events`` (and Aperture's ``GET /api/jobs/progress/stream/{id}``): one run.
  ``event: progress`` with the run (``read_models.jobs.run_event``) whenever it changed, then ``event: end``
  with its final state, and the stream closes.
- ``GET /api/admin/jobs/events``: every running job. ``event: jobs`` with ``{"running": [...], "queued":
  [...]}`` whenever that changed, and ``event: finished`` with a run that just ended.

Progress lives in ``job_run`` (the worker flushes it at most once a second), so a run's stream reads that row
every ``POLL_S`` and the running-jobs stream (every admin page has one, for the header's widget) its query
every ``ACTIVE_POLL_S``: sleeping in between, never a busy loop (10 open streams cost about 0.1 s of CPU a
second on the loaded 2-core test machine, client included). A comment line every
``KEEPALIVE_S`` keeps proxies from closing an idle stream and notices a client that left. A stream ends after
``STREAM_MAX_S`` (EventSource reconnects by itself after ``retry``): uvicorn waits for open responses when it
stops, so a stopping server waits at most that long for an admin's open page.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Coroutine
from typing import Any, TypeVar

from sqlmodel import col, select
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from sidecar.db.models import JobRun
from sidecar.jobs.control import queued_job_names
from sidecar.services import Services
from sidecar.web.auth import services_of
from sidecar.web.json_io import path_int
from sidecar.web.read_models import jobs as job_reads

POLL_S = 0.5
ACTIVE_POLL_S = 1.0
KEEPALIVE_S = 5.0
STREAM_MAX_S = 10.0
RETRY_MS = 1000
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
T = TypeVar("T")


def _event(name: str, data: Any) -> str:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def _stream(source: AsyncIterator[str]) -> Response:
    return StreamingResponse(source, media_type="text/event-stream", headers=HEADERS)


async def _shielded(read: Coroutine[Any, Any, T]) -> T:
    """Run one read to its end even when the client leaves mid-way: Starlette cancels a stream whose client
    left and keeps cancelling every await until it ends, which would leave a half-used database or Redis
    connection to the garbage collector. The read finishes in its own task; the stream stops after it."""
    return await asyncio.shield(asyncio.ensure_future(read))


async def _run(services: Services, run_id: int) -> dict[str, Any] | None:
    async with services.sessions() as session:
        run = await session.get(JobRun, run_id)
        return job_reads.run_event(job_reads.run_view(run)) if run is not None else None


async def run_stream(services: Services, run_id: int, first: dict[str, Any]) -> AsyncIterator[str]:
    yield f"retry: {RETRY_MS}\n\n"
    began = last_sent = time.monotonic()
    sent: dict[str, Any] | None = None
    view: dict[str, Any] | None = first
    while view is not None:
        if view != sent:
            yield _event("progress", view)
            sent, last_sent = view, time.monotonic()
        if view["status"] not in job_reads.ACTIVE_STATUSES:
            yield _event("end", view)
            return
        now = time.monotonic()
        if now - began >= STREAM_MAX_S:
            return
        if now - last_sent >= KEEPALIVE_S:
            yield ": keep-alive\n\n"
            last_sent = now
        await asyncio.sleep(POLL_S)
        view = await _shielded(_run(services, run_id))
    yield _event("end", {"id": run_id, "status": "gone"})  # pruned while watched


async def run_events(request: Request) -> Response:
    services = services_of(request)
    run_id = path_int(request, "run_id")
    async with services.sessions() as session:
        first = job_reads.run_event(await job_reads.get_run(session, run_id))  # 404 before the stream starts
    return _stream(run_stream(services, run_id, first))


async def _active(services: Services) -> dict[str, Any]:
    async with services.sessions() as session:
        rows = (
            await session.exec(
                select(JobRun)
                .where(col(JobRun.status).in_(job_reads.ACTIVE_STATUSES))
                .order_by(col(JobRun.started_at), col(JobRun.id))
                .limit(50)
            )
        ).all()
    running = [job_reads.run_event(job_reads.run_view(r)) for r in rows]
    return {"running": running, "queued": sorted(await queued_job_names(services))}


async def active_stream(services: Services) -> AsyncIterator[str]:
    yield f"retry: {RETRY_MS}\n\n"
    began = last_sent = time.monotonic()
    sent: dict[str, Any] | None = None
    while True:
        state = await _shielded(_active(services))
        if state != sent:
            if sent is not None:
                still = {r["id"] for r in state["running"]}
                for ended in (r for r in sent["running"] if r["id"] not in still):
                    final = await _shielded(_run(services, int(ended["id"])))
                    if final is not None:
                        yield _event("finished", final)
            yield _event("jobs", state)
            sent, last_sent = state, time.monotonic()
        now = time.monotonic()
        if now - began >= STREAM_MAX_S:
            return
        if now - last_sent >= KEEPALIVE_S:
            yield ": keep-alive\n\n"
            last_sent = now
        await asyncio.sleep(ACTIVE_POLL_S)


async def active_events(request: Request) -> Response:
    return _stream(active_stream(services_of(request)))
