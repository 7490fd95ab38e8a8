"""Queueing webhook events' processing jobs: many arq jobs in one Redis round trip (a Lua script)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from arq.connections import ArqRedis
from arq.constants import job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from redis.exceptions import RedisError

from sidecar.services import QUEUE_NAME

log = logging.getLogger("sidecar.webhooks.store")  # the logger these warnings always had


PROCESS_JOB = "process-webhook-event"

# arq's enqueue (skip a job id that is queued, running or has a result) for many jobs in one round trip.
# Kept on purpose instead of ``ArqRedis.enqueue_job``: arq enqueues one job per WATCH/MULTI transaction (a
# pooled connection and four round trips each), and ``asyncio.gather`` over those for each written batch
# cost the receiver about 30 % more CPU per request on bench_webhook_ingest (0.53 -> 0.65-0.81 ms/req,
# 636-723 -> 466-641 req/s, p50 20-24 -> 24-32 ms, on a shared 2-CPU box), well beyond the noise. The
# script writes exactly what ``enqueue_job`` writes (the job key with arq's serializer and expiry, the
# queue's sorted-set entry scored by enqueue time) under the same skip rule, so arq's worker reads these
# jobs like its own; keep it in step with arq's ``enqueue_job`` when upgrading arq.
_ENQUEUE_MANY = """
local queued = 0
local n = #KEYS / 2
for i = 1, n do
    if redis.call('exists', KEYS[i], KEYS[n + i]) == 0 then
        redis.call('psetex', KEYS[i], ARGV[1], ARGV[5 + 2 * (i - 1)])
        redis.call('zadd', ARGV[3], ARGV[2], ARGV[4 + 2 * (i - 1)])
        queued = queued + 1
    end
end
return queued
"""


def _job_id(event_id: int) -> str:
    return f"webhook:{event_id}"


async def enqueue_events(redis: ArqRedis, event_ids: list[int], *, timeout_s: float = 1.0) -> bool:
    """Queue the processing jobs of several events at once; False when Redis did not take them (the
    sweeper will)."""
    if not event_ids:
        return True
    now_ms = int(time.time() * 1000)
    job_ids = [_job_id(i) for i in event_ids]
    payloads = [
        serialize_job(PROCESS_JOB, (), {"event_id": i}, None, now_ms, serializer=redis.job_serializer)
        for i in event_ids
    ]
    keys = [job_key_prefix + j for j in job_ids] + [result_key_prefix + j for j in job_ids]
    args: list[Any] = [redis.expires_extra_ms, now_ms, QUEUE_NAME]
    for job_id, payload in zip(job_ids, payloads, strict=True):
        args.extend((job_id, payload))
    try:
        await asyncio.wait_for(redis.eval(_ENQUEUE_MANY, len(keys), *keys, *args), timeout_s)  # type: ignore[arg-type]
    except (RedisError, OSError, TimeoutError) as exc:
        log.warning("%d webhook events stored but not queued (%s); the sweeper will queue them", len(event_ids), exc)
        return False
    return True


async def enqueue_event(redis: ArqRedis, event_id: int, *, timeout_s: float = 1.0) -> bool:
    return await enqueue_events(redis, [event_id], timeout_s=timeout_s)
