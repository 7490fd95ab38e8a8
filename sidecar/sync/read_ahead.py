"""Reading the next page from the server while the current one is written to the database.

The server's answer and Marquee's write of one page take similar time; overlapping them keeps both busy
(the media server and PostgreSQL are other processes). At most ``depth`` pages wait in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TypeVar, cast

T = TypeVar("T")

_DONE = object()


async def pages(values: AsyncIterator[T], size: int) -> AsyncIterator[list[T]]:
    """``values`` in lists of ``size`` (the last one shorter)."""
    page: list[T] = []
    async for value in values:
        page.append(value)
        if len(page) >= size:
            yield page
            page = []
    if page:
        yield page


async def read_ahead(source: AsyncIterator[T], depth: int = 1) -> AsyncIterator[T]:
    """Yield ``source``'s values in order, fetching up to ``depth`` of them ahead of the consumer.

    An error in ``source`` is raised at the point the consumer reaches it; a consumer that stops early
    (or fails) cancels the reading.
    """
    queue: asyncio.Queue[object] = asyncio.Queue(maxsize=depth)

    async def fill() -> None:
        try:
            async for value in source:
                await queue.put(value)
        except BaseException as exc:  # handed to the consumer, raised in its frame
            await queue.put(_Failed(exc))
            return
        await queue.put(_DONE)

    reader = asyncio.create_task(fill())
    try:
        while True:
            value = await queue.get()
            if value is _DONE:
                return
            if isinstance(value, _Failed):
                raise value.error
            yield cast(T, value)
    finally:
        if not reader.done():
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        aclose = getattr(source, "aclose", None)
        if aclose is not None:
            await aclose()


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error
