"""Reading pages ahead of their writes keeps their order, raises the reader's error where it happened, and
stops the reading when the consumer stops."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from sidecar.sync.read_ahead import pages, read_ahead


async def _numbers(n: int, log: list[int], fail_at: int | None = None) -> AsyncIterator[int]:
    for i in range(n):
        if i == fail_at:
            raise RuntimeError(f"server failed at {i}")
        log.append(i)
        yield i
        await asyncio.sleep(0)


async def _let_others_run() -> None:
    for _ in range(50):
        await asyncio.sleep(0)


async def test_pages_arrive_in_order_and_complete() -> None:
    log: list[int] = []
    got = [page async for page in read_ahead(pages(_numbers(10, log), 3))]
    assert got == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]


async def test_the_reader_runs_at_most_depth_pages_ahead() -> None:
    log: list[int] = []
    async for page in read_ahead(pages(_numbers(12, log), 2), depth=1):
        await _let_others_run()  # the reader goes as far as it may
        assert len(log) <= page[-1] + 1 + 2 * 2, "one page queued and one being built, no more"
    assert len(log) == 12


async def test_an_error_reaches_the_consumer_after_the_pages_before_it() -> None:
    log: list[int] = []
    got: list[list[int]] = []
    with pytest.raises(RuntimeError, match="server failed at 5"):
        async for page in read_ahead(pages(_numbers(10, log, fail_at=5), 2)):
            got.append(page)
    assert got == [[0, 1], [2, 3]]


async def test_a_consumer_that_stops_early_stops_the_reading() -> None:
    log: list[int] = []
    reader = read_ahead(pages(_numbers(1000, log), 10))
    async for _page in reader:
        break
    await reader.aclose()
    await _let_others_run()
    assert len(log) <= 40, "the reader was cancelled, not left paging through everything"
