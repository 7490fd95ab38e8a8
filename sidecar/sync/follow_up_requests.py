"""Per-user follow-up requests: which media types of a user changed since their follow-up last ran.

A request is a media type ("movies": recompute the picks, then republish) or ``publish:<media type>``
(republish only: the user renamed a library or their explanations changed; ``republish_request``).
A webhook job adds the media type to the user's set in Redis and makes sure one ``user-follow-up`` job
is waiting for that user: a burst of requests rides along with the job already waiting, and a request
made after that job started taking requests queues the next one. Follow-ups of one user run one after
another (``follow_up_lock``), each taking the set atomically and looping while requests keep arriving.

No request can fall between two jobs: the waiting mark is cleared, under the lock, *before* the job takes
the set, so a request that still saw the mark added its types before the take. (A unique arq job id per
user could not promise that: arq refuses a new job with the id of one that is finishing.) The sweeper
also re-queues users whose set is non-empty, for a job lost with Redis.
"""

from __future__ import annotations

from collections.abc import Collection
from contextlib import AbstractAsyncContextManager

from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncEngine

from sidecar.db.locks import advisory_lock
from sidecar.jobs.queue import enqueue

FOLLOW_UP_JOB = "user-follow-up"
_KEY = "marquee:follow-up:{user_id}"
_PATTERN = "marquee:follow-up:*"
# Not under _PATTERN. Expires so that a job lost with its queue cannot block a user's follow-ups for long.
_WAITING = "marquee:follow-up-waiting:{user_id}"
WAITING_TTL_S = 300


REPUBLISH_PREFIX = "publish:"


async def request_follow_up(redis: ArqRedis, user_id: int, media_types: Collection[str]) -> None:
    if not media_types:
        return
    await redis.sadd(_KEY.format(user_id=user_id), *sorted(media_types))  # type: ignore[misc]
    await ensure_waiting_job(redis, user_id)


def republish_request(media_type: str) -> str:
    return REPUBLISH_PREFIX + media_type


async def request_republish(redis: ArqRedis, user_id: int, media_types: Collection[str]) -> None:
    """Rewrite the user's libraries of these types within seconds, without recomputing their picks."""
    await request_follow_up(redis, user_id, [republish_request(mt) for mt in media_types])


async def ensure_waiting_job(redis: ArqRedis, user_id: int) -> bool:
    """Queue a follow-up for the user unless one is already waiting; True when one was queued."""
    if not await redis.set(_WAITING.format(user_id=user_id), b"1", nx=True, ex=WAITING_TTL_S):
        return False
    await enqueue(redis, FOLLOW_UP_JOB, user_id=user_id)
    return True


def follow_up_lock(engine: AsyncEngine, user_id: int) -> AbstractAsyncContextManager[None]:
    return advisory_lock(engine, f"follow-up:{user_id}")


async def start_taking(redis: ArqRedis, user_id: int) -> None:
    """Called by the follow-up job once it holds the user's lock: later requests queue the next job."""
    await redis.delete(_WAITING.format(user_id=user_id))


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
    """Queue a follow-up for every user with requests left (one that finds nothing to do is harmless)."""
    users = await waiting_users(redis)
    for user_id in users:
        await enqueue(redis, FOLLOW_UP_JOB, user_id=user_id)
    return len(users)
