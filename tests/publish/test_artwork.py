"""Artwork for changed titles, over real HTTP: tagged images are fetched once and then kept; untagged
ones are fetched every time (nothing says they did not change); the cache stays within its size."""

from __future__ import annotations

from collections import Counter

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from providers.base import make_media_server
from sidecar.publish import artwork
from sidecar.publish.artwork import ImageCache, materialise
from sidecar.publish.titles import FileSpec, ImageRequest, TitlePlan
from tests.servers import serve


def _plan(item: str, tag: str | None) -> TitlePlan:
    image = ImageRequest("poster", item, "Primary", tag)
    files = (FileSpec("movie.nfo", data=b"<movie/>"), FileSpec("poster", image=image))
    return TitlePlan(item, 1, item, rank=1, slot=1, files=files, content_hash="h")


@pytest.fixture(autouse=True)
def fresh_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(artwork, "_cache", ImageCache())


async def test_tagged_images_are_downloaded_once() -> None:
    hits: Counter[str] = Counter()

    async def image(request: Request) -> Response:
        hits[request.path_params["item"]] += 1
        return Response(b"\x89PNG-" + request.path_params["item"].encode(), media_type="image/png")

    app = Starlette(routes=[Route("/Items/{item}/Images/Primary", image)])
    async with serve(app, lifespan="off") as url:
        server = make_media_server("jellyfin", url, "0" * 32)
        try:
            for _ in range(3):
                titles = await materialise([_plan("a", "tag1"), _plan("b", None)], server=server)
                files = {t.folder: {f.rel: f.data for f in t.files} for t in titles}
                assert files["a"]["poster.png"] == b"\x89PNG-a"
                assert files["b"]["poster.png"] == b"\x89PNG-b"
            assert hits == {"a": 1, "b": 3}
            await materialise([_plan("a", "tag2")], server=server)  # a new image has a new tag
            assert hits["a"] == 2
        finally:
            await server.aclose()


def test_the_cache_evicts_the_least_recently_used_beyond_its_size() -> None:
    cache = ImageCache(max_bytes=800)
    for name in "abcd":
        cache.put(name, ("png", b"x" * 100))
    assert cache.get("a") is not None  # a is now the most recently used
    for name in "efghi":
        cache.put(name, ("png", b"x" * 100))
    assert cache.get("b") is None and cache.get("a") is not None and cache.get("i") is not None
    cache.put("huge", ("png", b"x" * 101))  # more than an eighth of the cache: never kept
    assert cache.get("huge") is None


async def test_a_missing_or_failing_image_leaves_the_title_without_it() -> None:
    async def image(request: Request) -> Response:
        item = request.path_params["item"]
        if item == "gone":
            return Response("no image", status_code=404)
        if item == "broken":
            return Response("boom", status_code=500)
        return Response(b"\x89PNG-" + item.encode(), media_type="image/png")

    app = Starlette(routes=[Route("/Items/{item}/Images/Primary", image)])
    async with serve(app, lifespan="off") as url:
        server = make_media_server("jellyfin", url, "0" * 32)
        try:
            titles = await materialise([_plan("gone", "t"), _plan("broken", "t"), _plan("ok", "t")], server=server)
        finally:
            await server.aclose()
    files = {t.folder: {f.rel for f in t.files} for t in titles}
    assert files == {"gone": {"movie.nfo"}, "broken": {"movie.nfo"}, "ok": {"movie.nfo", "poster.png"}}
