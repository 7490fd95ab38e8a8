"""The follow-up request protocol on real Redis and PostgreSQL: a burst rides one job, nothing falls between
two jobs, and one user's follow-ups never overlap."""

from __future__ import annotations

import asyncio

from sidecar.services import QUEUE_NAME, Services
from sidecar.sync.follow_up_requests import (
    follow_up_lock,
    request_follow_up,
    requeue_waiting,
    start_taking,
    take_requests,
)


async def _queued(services: Services) -> int:
    return int(await services.redis.zcard(QUEUE_NAME))


async def test_a_burst_of_requests_queues_one_job(services: Services) -> None:
    for media_type in ("movies", "series", "movies"):
        await request_follow_up(services.redis, 7, [media_type])
    assert await _queued(services) == 1
    await request_follow_up(services.redis, 8, ["movies"])
    assert await _queued(services) == 2  # another user has their own job


async def test_a_request_after_the_job_took_its_set_queues_the_next_job(services: Services) -> None:
    await request_follow_up(services.redis, 7, ["movies"])
    assert await _queued(services) == 1
    # The queued job starts: it takes the lock, clears the waiting mark, then takes the set.
    async with follow_up_lock(services.engine, 7):
        await start_taking(services.redis, 7)
        assert await take_requests(services.redis, 7) == {"movies"}
        # A request lands while that job is finishing (its arq id not yet released): it must not be lost.
        await request_follow_up(services.redis, 7, ["series"])
        assert await _queued(services) == 2
    assert await take_requests(services.redis, 7) == {"series"}


async def test_follow_ups_of_one_user_run_one_after_another(services: Services) -> None:
    order: list[str] = []

    async def run(name: str, user_id: int, hold_s: float) -> None:
        async with follow_up_lock(services.engine, user_id):
            order.append(f"{name} in")
            await asyncio.sleep(hold_s)
            order.append(f"{name} out")

    first = asyncio.create_task(run("first", 7, 0.3))
    await asyncio.sleep(0.05)
    await asyncio.gather(run("second", 7, 0.0), run("other user", 8, 0.0))
    await first
    assert order.index("first out") < order.index("second in")
    assert order.index("other user out") < order.index("first out")  # other users are not held up


async def test_the_sweeper_requeues_users_with_requests_left(services: Services) -> None:
    await request_follow_up(services.redis, 7, ["movies"])
    await services.redis.delete(QUEUE_NAME)  # the job was lost with the queue
    assert await requeue_waiting(services.redis) == 1
    assert await _queued(services) == 1
