"""Per-user follow-up requests: which media types of a user changed since their follow-up last ran.

A webhook job adds the media type to the user's set in Redis, then enqueues ``user-follow-up`` under
the user's job id (a burst collapses into one queued run). The follow-up takes the set atomically at
start and again at the end, looping while new requests arrived during the run. The sweeper re-enqueues
users whose set is still non-empty, for the rare request that lands as a running follow-up exits.
"""

from __future__ import annotations

from collections.abc import Collection

from arq.connections import ArqRedis

from sidecar.jobs.queue import enqueue

FOLLOW_UP_JOB = "user-follow-up"
_KEY = "marquee:follow-up:{user_id}"
_PATTERN = "marquee:follow-up:*"


def follow_up_job_id(user_id: int) -> str:
    return f"{FOLLOW_UP_JOB}:{user_id}"


async def request_follow_up(redis: ArqRedis, user_id: int, media_types: Collection[str]) -> None:
    if not media_types:
        return
    await redis.sadd(_KEY.format(user_id=user_id), *sorted(media_types))  # type: ignore[misc]
    await enqueue(redis, FOLLOW_UP_JOB, job_id=follow_up_job_id(user_id), user_id=user_id)


async def take_requests(redis: ArqRedis, user_id: int) -> set[str]:
    key = _KEY.format(user_id=user_id)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.smembers(key)
        pipe.delete(key)
        members, _ = await pipe.execute()
    return {m.decode() if isinstance(m, bytes) else str(m) for m in members}


async def waiting_users(redis: ArqRedis) -> list[int]:
    users = []
    async for key in redis.scan_iter(match=_PATTERN, count=500):
        tail = (key.decode() if isinstance(key, bytes) else str(key)).rsplit(":", 1)[-1]
        if tail.isdigit():
            users.append(int(tail))
    return sorted(users)


async def requeue_waiting(redis: ArqRedis) -> int:
    users = await waiting_users(redis)
    for user_id in users:
        await enqueue(redis, FOLLOW_UP_JOB, job_id=follow_up_job_id(user_id), user_id=user_id)
    return len(users)
