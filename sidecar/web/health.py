"""``GET /healthz``: is the database, Redis and the worker alive? 200 when all are, 503 otherwise.

While an embedded server that died is being restarted (``sidecar.supervisor``), the status is
"recovering" (503), so a probe can tell a restart under way from a lasting failure.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse

from sidecar import __version__, supervisor
from sidecar.jobs.worker import HEALTH_CHECK_KEY
from sidecar.services import Services


async def _check_database(services: Services) -> str:
    try:
        async with services.engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "ok"


async def _check_redis_and_worker(services: Services) -> tuple[str, str]:
    try:
        beat = await asyncio.wait_for(services.redis.get(HEALTH_CHECK_KEY), timeout=2)
    except Exception as exc:
        return f"error: {type(exc).__name__}", "unknown"
    return "ok", ("ok" if beat else "no heartbeat")


async def healthz(request: Request) -> JSONResponse:
    services: Services = request.app.state.services
    database, (redis, worker) = await asyncio.gather(_check_database(services), _check_redis_and_worker(services))
    embedded = supervisor.state()
    healthy = database == redis == worker == "ok" and embedded != "recovering"
    body = {
        "status": "recovering" if embedded == "recovering" else "ok" if healthy else "degraded",
        "database": database,
        "redis": redis,
        "worker": worker,
        "version": __version__,
    }
    if embedded is not None:
        body["embedded_servers"] = embedded
    return JSONResponse(body, status_code=200 if healthy else 503)
